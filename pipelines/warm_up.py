"""warm_up: before the open, load the universe's latest features into the online store.

The serving layer owns how (stockfeatures.serving.warm_up); this flow gives it a schedule,
retries (Redis or PostgreSQL briefly unavailable at 09:00 should not leave the store cold)
and a run report.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from pipelines.monitoring import OUTCOME_HOOKS
from stockfeatures.config import load_settings
from stockfeatures.prices.tickers import validate_tickers
from stockfeatures.universe import load_universe


@task(name="warm online store", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=20)
def warm_online_store(settings, tickers: list[str]):
    from stockfeatures.serving import warm_up as serving_warm_up

    return serving_warm_up(settings, tickers)


@flow(name="warm_up", log_prints=True, **OUTCOME_HOOKS)
def warm_up(profile: str | None = None, tickers: list[str] | None = None) -> dict:
    settings = load_settings(profile)
    universe = validate_tickers(tickers) if tickers else load_universe(settings)
    report = warm_online_store(settings, universe)
    line = report.line() if hasattr(report, "line") else str(report)
    get_run_logger().info(line)
    counts = {"tickers_requested": len(universe), "tickers_warmed": getattr(report, "tickers", None),
              "views": getattr(report, "views", None),
              "newest_event_timestamp": str(getattr(report, "newest_event_timestamp", ""))}
    create_markdown_artifact(
        key="warm-up-materialized",
        markdown="# Warm-up\n\n" + "\n".join(f"- {k}: {v}" for k, v in counts.items()),
        description=line,
    )
    return counts
