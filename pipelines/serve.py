"""Deployments declared in code and served by one long-running process.

    python -m pipelines serve        # with PREFECT_API_URL pointing at `prefect server start`

daily-update runs at 16:30 New York on weekdays (skipping itself on XNYS holidays), warm-up
at 09:00 New York on weekdays, intraday-push every 5 minutes in regular hours (skipping
itself outside them), backfill only when started (UI "Run" or `prefect deployment run backfill/backfill`).
Run it as a service: Prefect pauses a served deployment's schedule when the process exits.
"""

from __future__ import annotations

from prefect import serve
from prefect.schedules import Cron

from pipelines.backfill import backfill
from pipelines.daily_update import daily_update
from pipelines.intraday_push import intraday_push
from pipelines.schedules import (
    DAILY_UPDATE_AT,
    INTRADAY_PUSH_CRON,
    TIMEZONE,
    WARM_UP_AT,
    weekday_cron,
)
from pipelines.warm_up import warm_up


def deployments(profile: str | None = None, source: str = "yfinance",
                intraday_source: str = "yfinance") -> list:
    common = {"profile": profile} if profile else {}
    return [
        daily_update.to_deployment(
            name="daily-update",
            schedules=[Cron(weekday_cron(DAILY_UPDATE_AT), timezone=TIMEZONE)],
            parameters={**common, "source": source},
            description="After the close on XNYS sessions: ingest, validate, compute, materialize.",
            tags=["stockfeatures", "daily"],
        ),
        warm_up.to_deployment(
            name="warm-up",
            schedules=[Cron(weekday_cron(WARM_UP_AT), timezone=TIMEZONE)],
            parameters=common,
            description="Before the open: latest features of the universe into the online store.",
            tags=["stockfeatures", "daily"],
        ),
        intraday_push.to_deployment(
            name="intraday-push",
            schedules=[Cron(INTRADAY_PUSH_CRON, timezone=TIMEZONE)],
            parameters={**common, "source": intraday_source},
            description="Every 5 minutes in XNYS regular hours: new 5-minute bars, features, push.",
            tags=["stockfeatures", "intraday"],
        ),
        backfill.to_deployment(
            name="backfill",
            parameters={**common, "source": source},
            description="On demand: history for a date range, chunked by ticker, resumable.",
            tags=["stockfeatures"],
        ),
    ]


def serve_deployments(profile: str | None = None, source: str = "yfinance") -> None:
    serve(*deployments(profile, source))
