"""A vendor correction of real bars, end to end in both profiles: ingest (CSV with its
knowledge time) -> compute -> materialize; the online store then serves the corrected values,
and a backtest as known before the correction still sees the old ones (issue 10)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockfeatures.features.spec import FEATURE_NAMES
from stockfeatures.prices.csv_source import CsvSource
from stockfeatures.retrieval import historical_features, online_features
from stockfeatures.stages.ingest import ingest
from tests.realdata.conftest import materialize, run_cli
from tests.realdata.data import TICKERS, write_csv

pytestmark = pytest.mark.integration
# (ticker, session, close factor, when the correction was learned)
CORRECTIONS = (
    ("GOOG", "2013-03-01", 1.02, pd.Timestamp("2013-03-04 12:00", tz="UTC")),
    ("^GSPC", "2018-12-31", 0.99, pd.Timestamp("2019-01-02 12:00", tz="UTC")),
)
CHANGED = ["ret_1d", "ma_gap_20d", "vol_20d", "beta_60d"]


def _corrected_row(bars: pd.DataFrame, ticker: str, session: str, factor: float) -> pd.DataFrame:
    row = bars[(bars["ticker"] == ticker) & (bars["date"] == session)].copy()
    row["close"] = row["close"] * factor
    row["high"] = row[["high", "close"]].max(axis=1)
    row["low"] = row[["low", "close"]].min(axis=1)
    return row


@pytest.fixture(scope="module")
def corrected(real_stack):
    before = real_stack.warehouse.latest_features(TICKERS).set_index("ticker")
    for ticker, session, factor, known_at in CORRECTIONS:
        path = write_csv(_corrected_row(real_stack.bars, ticker, session, factor),
                         real_stack.root / f"correction_{ticker.strip('^')}.csv")
        day = pd.Timestamp(session).date()
        result = ingest(CsvSource(path, known_at=known_at), real_stack.warehouse, None, day, day)
        assert result.bars.inserted == 1, result.line()
    run_cli("compute")
    materialize(real_stack)
    return real_stack, before


def test_the_correction_is_a_new_version_of_the_features(corrected):
    stack, before = corrected
    after = stack.warehouse.latest_features(TICKERS).set_index("ticker")
    goog = stack.bars[stack.bars["ticker"] == "GOOG"].set_index("date")["close"]
    assert after.loc["GOOG", "ret_1d"] == pytest.approx(goog["2013-03-01"] * 1.02 / goog["2013-02-28"] - 1,
                                                        rel=1e-12)
    assert after.loc["GOOG", "ret_1d"] != before.loc["GOOG", "ret_1d"]
    assert after.loc["^IXIC", "beta_60d"] != before.loc["^IXIC", "beta_60d"]  # its benchmark was corrected


def test_online_store_serves_exactly_the_corrected_values(corrected):
    stack, _ = corrected
    online = online_features(stack.store, list(TICKERS), features=list(FEATURE_NAMES)).set_index("ticker")
    expected = stack.warehouse.latest_features(TICKERS).set_index("ticker")
    np.testing.assert_array_equal(online.loc[list(TICKERS), list(FEATURE_NAMES)].to_numpy(float),
                                  expected.loc[list(TICKERS), list(FEATURE_NAMES)].to_numpy(float))


@pytest.mark.parametrize("ticker", ["GOOG", "^GSPC", "^IXIC"])
def test_backtest_as_known_before_the_correction_sees_the_old_values(corrected, ticker):
    stack, before = corrected
    known_at = CORRECTIONS[0][3] if ticker == "GOOG" else CORRECTIONS[1][3]
    entity_df = pd.DataFrame({"ticker": ticker,
                              "event_timestamp": [known_at - pd.Timedelta(hours=1), known_at]})
    history = historical_features(stack.store, entity_df, features=CHANGED)
    history = history.assign(asked=pd.to_datetime(history["event_timestamp"], utc=True)).sort_values("asked")
    after = stack.warehouse.latest_features([ticker]).set_index("ticker")
    np.testing.assert_array_equal(history[CHANGED].to_numpy(float)[0], before.loc[ticker, CHANGED].to_numpy(float))
    np.testing.assert_array_equal(history[CHANGED].to_numpy(float)[1], after.loc[ticker, CHANGED].to_numpy(float))
