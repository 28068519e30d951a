"""LazyCompute.find against the serving stack: a recompute from prices runs only for tickers
it could move forward, and its answers are the ones a recompute of every ticker gives."""

from __future__ import annotations

import pandas as pd
import pytest

from stockfeatures.serving.lazy_compute import LazyCompute
from tests.integration.serving.conftest import CountingWarehouse

pytestmark = pytest.mark.integration

# The stack's newest session is Monday 2025-06-30; on Wednesday morning Tuesday's close is
# expected, so every ticker is behind.
FRIDAY_CLOSE = pd.Timestamp("2025-06-27 20:00", tz="UTC")
MONDAY_CLOSE = pd.Timestamp("2025-06-30 20:00", tz="UTC")
TUESDAY_CLOSE = pd.Timestamp("2025-07-01 20:00", tz="UTC")


class RecordingCompute(LazyCompute):
    """LazyCompute, recording the tickers it recomputes (a spy on a public method)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.recomputed: list[list[str]] = []

    def compute_from_prices(self, tickers, expected_close):
        self.recomputed.append(list(tickers))
        return super().compute_from_prices(tickers, expected_close)


class FridayRows(CountingWarehouse):
    """The warehouse as it was before Monday's feature rows were written: bars through
    Monday, feature rows through Friday."""

    def latest_features(self, tickers=None, **kwargs):
        super().latest_features(tickers, **kwargs)
        rows = self.inner.read_features(tickers=tickers, start=FRIDAY_CLOSE, end=FRIDAY_CLOSE)
        return rows.drop_duplicates("ticker", keep="last")


def _lazy(stack, warehouse) -> RecordingCompute:
    return RecordingCompute(stack.store, warehouse, stack.settings.benchmark_ticker)


def test_a_ticker_whose_bars_end_at_its_feature_row_is_not_recomputed(stack):
    lazy = _lazy(stack, stack.warehouse)
    found = lazy.find(["AAPL", "MSFT"], TUESDAY_CLOSE)
    assert lazy.recomputed == []
    assert found.origin == {"AAPL": "offline", "MSFT": "offline"}
    assert set(found.rows["event_timestamp"]) == {MONDAY_CLOSE}
    # What the recompute would have given: rows no newer than the warehouse's, which find
    # would have dropped.
    computed = lazy.compute_from_prices(["AAPL", "MSFT"], TUESDAY_CLOSE)
    assert set(computed["event_timestamp"]) == {MONDAY_CLOSE}


def test_a_ticker_with_bars_after_its_feature_row_is_recomputed(stack):
    lazy = _lazy(stack, FridayRows(stack.warehouse))
    found = lazy.find(["AAPL", "MSFT"], TUESDAY_CLOSE)
    assert lazy.recomputed == [["AAPL", "MSFT"]]
    assert found.origin == {"AAPL": "computed", "MSFT": "computed"}
    assert set(found.rows["event_timestamp"]) == {MONDAY_CLOSE}
    offline = stack.warehouse.latest_features(["AAPL", "MSFT"]).set_index("ticker")
    for ticker in ("AAPL", "MSFT"):
        assert found.rows.at[ticker, "ret_1d"] == pytest.approx(offline.at[ticker, "ret_1d"], rel=1e-9)


def test_a_ticker_with_no_feature_row_is_recomputed_beside_one_with_newer_bars(stack):
    lazy = _lazy(stack, FridayRows(stack.warehouse))
    found = lazy.find(["AAPL", "NOPE"], TUESDAY_CLOSE)
    assert lazy.recomputed == [["AAPL", "NOPE"]]
    assert "NOPE" not in found.rows.index  # no bars either: unknown, as before
