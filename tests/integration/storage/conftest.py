"""Fixtures for storage tests: a throwaway PostgreSQL database per session and both warehouses.

Every test gets an empty store: PostgreSQL tables are truncated (test cleanup, not product
behaviour: the warehouses themselves never delete), parquet gets a fresh tmp directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pandas as pd
import psycopg
import pytest

from stockfeatures import trading_calendar
from stockfeatures.features.spec import FEATURE_NAMES
from stockfeatures.storage import ParquetWarehouse, PostgresWarehouse, migrate
from tests.services import throwaway_database

TABLES = ("prices", "corporate_actions", "features_daily", "quarantine")


@pytest.fixture(scope="session")
def database_factory(pg_admin_dsn: str) -> Iterator:
    """Creates throwaway databases on demand (tests.services) and drops them at session end."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(throwaway_database(pg_admin_dsn))


@pytest.fixture(scope="session")
def migrated_dsn(database_factory) -> str:
    dsn = database_factory()
    migrate(dsn)
    return dsn


@pytest.fixture
def empty_dsn(migrated_dsn) -> str:
    with psycopg.connect(migrated_dsn, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
    return migrated_dsn


@pytest.fixture(params=["postgres", "parquet"])
def warehouse(request, tmp_path):
    if request.param == "postgres":
        store = PostgresWarehouse(request.getfixturevalue("empty_dsn"))
    else:
        store = ParquetWarehouse(tmp_path / "offline")
        store.migrate()
    yield store
    store.close()


def sessions(start: str = "2024-01-02", end: str = "2024-01-05") -> pd.DatetimeIndex:
    return trading_calendar.sessions_between(start, end)


@pytest.fixture
def make_bars():
    """Raw bars as frames.md defines them, first backfill (created = event)."""

    def build(tickers=("AAA", "BBB"), start="2024-01-02", end="2024-01-05") -> pd.DataFrame:
        days = sessions(start, end)
        frames = []
        for offset, ticker in enumerate(tickers):
            base = 100.0 + 10 * offset + pd.RangeIndex(len(days)).to_numpy() * 1.5
            frames.append(
                pd.DataFrame(
                    {
                        "ticker": ticker,
                        "session": days,
                        "open": base - 0.25,
                        "high": base + 1.0,
                        "low": base - 1.0,
                        "close": base + 0.1,
                        "volume": 1e6 + 1000.0 * offset,
                    }
                )
            )
        bars = pd.concat(frames, ignore_index=True)
        bars["event_timestamp"] = trading_calendar.session_close(bars["session"])
        bars["created_timestamp"] = bars["event_timestamp"]
        return bars

    return build


@pytest.fixture
def make_features():
    """Feature rows with every FeatureSpec column; the first row is in warm-up (NaN)."""

    def build(tickers=("AAA", "BBB"), start="2024-01-02", end="2024-01-05") -> pd.DataFrame:
        days = sessions(start, end)
        closes = trading_calendar.session_close(days)
        frames = []
        for offset, ticker in enumerate(tickers):
            frame = pd.DataFrame({"ticker": ticker, "event_timestamp": closes})
            frame["created_timestamp"] = frame["event_timestamp"]
            for position, name in enumerate(FEATURE_NAMES):
                values = 0.01 * (position + 1) + 0.001 * offset + 0.0001 * pd.RangeIndex(len(days))
                frame[name] = values.to_numpy(dtype="float64")
            frame.loc[0, list(FEATURE_NAMES)] = float("nan")
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    return build


@pytest.fixture
def make_actions():
    def build() -> pd.DataFrame:
        actions = pd.DataFrame(
            {
                "ticker": ["AAA", "BBB"],
                "ex_date": pd.to_datetime(["2024-01-03", "2024-01-04"]),
                "kind": ["split", "dividend"],
                "value": [4.0, 0.24],
            }
        )
        actions["event_timestamp"] = trading_calendar.session_close(actions["ex_date"])
        actions["created_timestamp"] = actions["event_timestamp"] - pd.Timedelta(days=20)
        return actions

    return build
