"""Intraday values over the real read path: pushed through Feast, read back fresh or stale.

In both profiles: the prod stack (PostgreSQL + Redis) of the serving tests, and a `local`
stack (SQLite online, parquet offline; serving's fill locks on the test Redis). The HTTP app
runs in process with a clock the test moves: bars of Monday 2025-06-30 are pushed with
stockfeatures.intraday.push, then read at instants around the 5 minutes + grace edge.
"""

from __future__ import annotations

import time
from datetime import datetime

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from stockfeatures import metrics
from stockfeatures.intraday.push import push_intraday_features
from stockfeatures.intraday.spec import INTRADAY_FEATURE_NAMES, INTRADAY_SERVICE, INTRADAY_VIEW
from stockfeatures.serving.http_app import create_app
from stockfeatures.serving.warm_up import warm_up_store
from tests.integration.profile_stack import build_stack
from tests.integration.serving.conftest import forget_online, make_server
from tests.intraday_frames import make_intraday_features

pytestmark = pytest.mark.integration

GRACE_S = 60.0


def ny(text: str) -> datetime:
    return pd.Timestamp(text, tz="America/New_York").tz_convert("UTC").to_pydatetime()


class MovableClock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def clock():
    return MovableClock(ny("2025-06-30 10:00"))


@pytest.fixture(scope="module", params=["local", "prod"])
def stack(request, stack, tmp_path_factory, redis_url):
    """This module's stack per profile: the serving tests' prod stack, or a local one."""
    if request.param == "prod":
        yield stack
        return
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield build_stack("local", tmp_path_factory.mktemp("serving_local"), monkeypatch,
                          redis_url=redis_url)


@pytest.fixture(scope="module")
def server(stack, clock):
    warm_up_store(stack.store, stack.warehouse, ["MSFT", "NVDA"])
    server = make_server(stack, intraday_grace_s=GRACE_S)
    server.freshness.clock = clock
    return server


@pytest.fixture(scope="module")
def client(server):
    with TestClient(create_app(server)) as test_client:
        yield test_client


def push_bars(stack, ticker: str, count: int) -> pd.Timestamp:
    """Push the first `count` bars of 2025-06-30 for ticker; returns the newest bar's end."""
    rows = make_intraday_features(tickers=(ticker,), count=count)
    push_intraday_features(stack.store, stack.warehouse, rows)
    return rows["event_timestamp"].max()


def read(client, tickers, **request) -> dict[str, dict]:
    body = {"entities": {"ticker": list(tickers)}, **(request or {"feature_service": INTRADAY_SERVICE})}
    answer = client.post("/get-online-features", json=body)
    assert answer.status_code == 200, answer.text
    payload = answer.json()
    names = payload["metadata"]["feature_names"]
    return dict(zip(names, payload["results"], strict=True))


def computations() -> float:
    return sum(metrics.COMPUTATIONS.labels(origin)._value.get() for origin in ("prices", "warehouse_row"))


def test_a_pushed_bar_is_fresh_until_five_minutes_plus_grace_after_its_end(stack, client, clock):
    ended = push_bars(stack, "AAPL", count=6)  # 09:35 ... 10:00
    assert ended == pd.Timestamp("2025-06-30 10:00", tz="America/New_York")

    clock.now = ny("2025-06-30 10:02")
    fresh = read(client, ["AAPL"])
    for name in INTRADAY_FEATURE_NAMES:
        assert fresh[name]["statuses"] == ["PRESENT"]
        assert fresh[name]["event_timestamps"] == ["2025-06-30T14:00:00Z"]
        assert fresh[name]["values"][0] is not None

    clock.now = ny("2025-06-30 10:06")  # exactly 5 min + grace: still fresh
    assert read(client, ["AAPL"])["ret_5m"]["statuses"] == ["PRESENT"]

    clock.now = ny("2025-06-30 10:06:01")
    stale = read(client, ["AAPL"])
    for name in INTRADAY_FEATURE_NAMES:
        assert stale[name]["statuses"] == ["OUTSIDE_MAX_AGE"]
        assert stale[name]["event_timestamps"] == ["2025-06-30T14:00:00Z"]  # the age, as for daily
        assert stale[name]["values"] == fresh[name]["values"]  # the best known value, marked


def test_the_next_bar_makes_it_fresh_again_and_the_last_bar_holds_overnight(stack, client, clock):
    push_bars(stack, "NVDA", count=7)  # ... 10:05
    clock.now = ny("2025-06-30 10:07")
    assert read(client, ["NVDA"])["ret_30m"]["statuses"] == ["PRESENT"]

    closing = make_intraday_features(tickers=("NVDA",), count=78).tail(1)  # the 16:00 bar
    push_intraday_features(stack.store, stack.warehouse, closing)
    clock.now = ny("2025-07-01 08:00")  # overnight, before Tuesday's open
    assert read(client, ["NVDA"])["ret_30m"]["statuses"] == ["PRESENT"]
    clock.now = ny("2025-07-01 09:30:01")  # Tuesday's open: Monday's bars are stale
    assert read(client, ["NVDA"])["ret_30m"]["statuses"] == ["OUTSIDE_MAX_AGE"]


def test_a_stale_or_missing_intraday_value_never_starts_the_daily_recompute(stack, client, server, clock):
    push_bars(stack, "MSFT", count=2)
    clock.now = ny("2025-06-30 15:00")  # hours after MSFT's 09:40 bar
    before_reads, before_computations = dict(server.warehouse.latest_reads), computations()

    answer = read(client, ["MSFT", "ZZINTRA"])

    assert answer["vwap_gap"]["statuses"] == ["OUTSIDE_MAX_AGE", "NOT_FOUND"]
    assert answer["vwap_gap"]["values"][1] is None
    assert dict(server.warehouse.latest_reads) == before_reads
    assert computations() == before_computations


def test_a_mixed_request_fills_the_daily_part_and_judges_the_pushed_part_by_its_rule(
        stack, client, server, clock):
    forget_online(server, "SPY")  # no daily value online: the miss path must fill it
    push_bars(stack, "SPY", count=3)  # ... 09:45
    request = {"features": ["returns_daily:ret_1d", f"{INTRADAY_VIEW}:ret_5m"]}

    clock.now = ny("2025-06-30 09:47")
    reads = server.warehouse.latest_reads["SPY"]
    first = read(client, ["SPY"], **request)
    assert first["ret_1d"]["values"][0] is not None
    assert server.warehouse.latest_reads["SPY"] > reads  # filled from the warehouse
    assert first["ret_5m"]["event_timestamps"] == ["2025-06-30T13:45:00Z"]
    assert first["ret_5m"]["statuses"] == ["PRESENT"]

    clock.now = ny("2025-06-30 09:52")
    later = read(client, ["SPY"], **request)
    assert later["ret_5m"]["statuses"] == ["OUTSIDE_MAX_AGE"]
    assert later["ret_5m"]["values"] == first["ret_5m"]["values"]


def test_the_metrics_page_reports_the_lag_of_the_pushed_view(stack, client):
    newest = push_bars(stack, "AAPL", count=8)  # ... 10:10, newer than any bar pushed before
    page = client.get("/metrics").text
    lags = [line for line in page.splitlines()
            if line.startswith(f'stockfeatures_intraday_lag_seconds{{view="{INTRADAY_VIEW}"}}')]
    assert len(lags) == 1
    # Metrics use the wall clock (not the server's injected one). The view's newest bar is
    # this 10:10 bar or a later one pushed by the tests above (NVDA's 16:00 close).
    lag = float(lags[0].split()[-1])
    assert 0 < lag <= time.time() - newest.timestamp()
    assert lag >= time.time() - pd.Timestamp("2025-06-30 16:00", tz="America/New_York").timestamp() - 60
    assert "stockfeatures_market_session_elapsed_seconds " in page
