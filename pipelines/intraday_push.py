"""intraday_push: every 5 minutes in regular hours, the bars that ended -> features -> push.

Scheduled by a cron line in America/New_York (pipelines.schedules.INTRADAY_PUSH_CRON); the
XNYS calendar decides whether a run has work (session_clock.cycle_session: from the first
bar's end to the run at the close): on holidays, weekends, before 09:35 and after the close
(16:00, or 13:00 on an early close) it ends Completed as skipped. One cycle is
stockfeatures.intraday.cycle.run_cycle with the IntradaySource named by `source`
(stockfeatures.intraday.get_intraday_source: sample, csv, yfinance or a registered name):
fetch the bars that ended, validate (bad bars to quarantine), store, compute the tier's
features from the lookback, gate, push online and offline. Quarantined rows or tickers the
source had nothing for end the run Failed with a readable reason after the good rows were
pushed.
"""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from pipelines.monitoring import OUTCOME_HOOKS
from pipelines.tasks import retry_on_transient_storage_error
from stockfeatures.config import load_settings
from stockfeatures.intraday.cycle import DEFAULT_REFETCH_BARS, CycleReport, run_cycle
from stockfeatures.intraday.session_clock import cycle_session
from stockfeatures.intraday.source import get_intraday_source
from stockfeatures.prices.tickers import validate_tickers
from stockfeatures.profiles import open_feature_store, open_warehouse
from stockfeatures.stages.knowledge_time import utc_known_at
from stockfeatures.universe import load_universe


class CycleIncomplete(RuntimeError):
    """Some bars or feature rows were quarantined; the rest were stored and pushed."""

    def __init__(self, report: CycleReport):
        problems = [f"{count} x {reason}" for reason, count in report.rejected_reasons.items()]
        problems += [f"no bars for {ticker}: {why}" for ticker, why in sorted(report.failures.items())]
        super().__init__(f"intraday cycle at {report.now}: {'; '.join(problems)}; quarantined rows are "
                         "in the quarantine table, stages intraday_bars / intraday_features")
        self.report = report


@task(name="intraday cycle", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5,
      retry_condition_fn=retry_on_transient_storage_error)
def cycle(source, warehouse, store, now, tickers, refetch_bars: int) -> CycleReport:
    """Retried on transient storage errors only: every write in a cycle is idempotent."""
    return run_cycle(source, warehouse, store, now, tickers, refetch_bars=refetch_bars)


@flow(name="intraday_push", log_prints=True, validate_parameters=False, **OUTCOME_HOOKS)
def intraday_push(
    profile: str | None = None,
    source: str = "sample",
    tickers: list[str] | None = None,
    as_of: datetime | None = None,
    source_options: dict | None = None,
    refetch_bars: int = DEFAULT_REFETCH_BARS,
    skip_outside_hours: bool = True,
) -> dict:
    """One cycle as known at `as_of` (UTC-aware; default now: tests and replays pin it).

    source / source_options: the intraday source's registered name and its options
    (e.g. {"path": "bars.csv"} for csv); Prefect parameters must be plain values.
    """
    logger = get_run_logger()
    now = utc_known_at(as_of)
    if skip_outside_hours and cycle_session(now) is None:
        note = f"{now} is outside XNYS regular hours (holiday, weekend, or after the close)"
        logger.info(note)
        return {"skipped": True, "note": note}
    settings = load_settings(profile)
    universe = validate_tickers(tickers) if tickers else load_universe(settings)
    feed = get_intraday_source(source, **(source_options or {}))
    warehouse = open_warehouse(settings)
    try:
        warehouse.migrate()
        store = open_feature_store(settings)
        report = cycle(feed, warehouse, store, now, universe, refetch_bars)
    finally:
        warehouse.close()
    for line in report.lines():
        logger.info(line)
    if not report.ok:
        raise CycleIncomplete(report)
    return {"skipped": False, "lines": report.lines(), "read": report.read,
            "accounted": report.accounted(),
            "push": report.push.to_dict() if report.push else None}
