"""The raw_prices suite (expectations/raw_prices.json) keeps bad bars out, with a reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockfeatures.validation import ValidationFailed, gate_raw_bars
from tests.unit.pipelines.bars import good_bars


def corrupt(mutate) -> tuple[pd.DataFrame, int]:
    """Good bars with one AAPL row broken by `mutate(frame, row)`; returns (frame, row)."""
    bars = good_bars()
    row = int(bars.index[bars["ticker"] == "AAPL"][2])
    return mutate(bars.copy(), row), row


def negative_price(bars, row):
    bars.loc[row, "low"] = -1.0
    return bars


def nan_close(bars, row):
    bars.loc[row, "close"] = np.nan
    return bars


def duplicated_session(bars, row):
    copy = bars.loc[[row]].assign(close=bars.loc[row, "close"] * 1.01, high=bars.loc[row, "high"] * 1.02)
    return pd.concat([bars, copy], ignore_index=True)


def wrong_timezone(bars, row):
    # 16:00 read as UTC instead of New York: the instant is hours before the real close.
    naive_local = bars.loc[row, "event_timestamp"].tz_convert("America/New_York").tz_localize(None)
    bars.loc[row, "event_timestamp"] = naive_local.tz_localize("UTC")
    return bars


def holiday_session(bars, row):
    bars.loc[row, "session"] = pd.Timestamp("2025-06-19")  # Juneteenth: exchange closed
    return bars


def high_below_close(bars, row):
    bars.loc[row, "high"] = bars.loc[row, "close"] * 0.9
    return bars


def known_before_close(bars, row):
    bars.loc[row, "created_timestamp"] = bars.loc[row, "event_timestamp"] - pd.Timedelta(hours=2)
    return bars


CASES = {
    negative_price: "low is not a positive price",
    nan_close: "close is missing (NaN)",
    duplicated_session: "more than one row for the same (ticker, session)",
    wrong_timezone: "event_timestamp is not the XNYS close of its session",
    holiday_session: "session is not an XNYS session date",
    high_below_close: "high is below close",
    known_before_close: "known before its session closed",
}


def test_good_bars_pass_untouched():
    bars = good_bars()
    result = gate_raw_bars(bars)
    assert result.passed and result.error() is None
    pd.testing.assert_frame_equal(result.accepted, bars.reset_index(drop=True))


@pytest.mark.parametrize("mutate", list(CASES), ids=lambda f: f.__name__)
def test_bad_row_is_rejected_with_its_rule_and_its_tickers_later_bars_are_withheld(mutate):
    bars, row = corrupt(mutate)
    result = gate_raw_bars(bars)
    assert result.rejected_tickers == ["AAPL"]
    bad_session = bars.loc[row, "session"]
    aapl = bars[bars["ticker"] == "AAPL"]
    kept = result.accepted[result.accepted["ticker"] == "AAPL"]
    assert list(kept["session"]) == list(aapl.loc[aapl["session"] < bad_session, "session"])
    assert set(result.accepted["ticker"]) >= {"MSFT", "SPY"}
    reasons = result.rejected["reason"]
    broken = reasons.str.contains(CASES[mutate], regex=False)
    assert broken.any()
    withheld = reasons.str.startswith("withheld: an earlier bar of this ticker")
    assert (broken | withheld).all()
    assert reasons[withheld].str.contains(str(bad_session.date())).all()
    assert len(result.accepted) + len(result.rejected) == len(bars)


def test_rows_the_source_refused_withhold_later_bars_and_are_reported():
    bars = good_bars()
    day = sorted(bars["session"].unique())[4]
    refused = pd.DataFrame({"ticker": ["MSFT"], "session": [day], "reason": ["bars.csv line 9: high below ..."]})
    result = gate_raw_bars(bars, source_rejects=refused)
    assert result.rejected_tickers == ["MSFT"] and not result.passed
    msft = result.accepted[result.accepted["ticker"] == "MSFT"]
    assert (msft["session"] < day).all() and len(msft) == 4
    assert len(result.accepted) + len(result.rejected) == len(bars) + 1
    assert "refused by the price source" in str(result.error())


def test_validation_failed_names_the_expectation_and_the_rows():
    bars, row = corrupt(nan_close)
    with pytest.raises(ValidationFailed) as caught:
        gate_raw_bars(bars).raise_if_failed()
    error = caught.value
    day = bars.loc[row, "session"].date().isoformat()
    assert "close is missing (NaN) [expect_column_values_to_not_be_null(close)]" in str(error)
    assert f"AAPL {day}" in str(error)
    assert error.tickers == ["AAPL"] and error.suite == "raw_prices"
    assert any(f.expectation == "expect_column_values_to_not_be_null" for f in error.failures)


def test_tz_aware_session_column_is_rejected_not_guessed():
    bars = good_bars(["MSFT"])
    bars["session"] = bars["session"].dt.tz_localize("America/New_York")
    result = gate_raw_bars(bars)
    assert len(result.rejected) == len(bars)
    assert result.rejected["reason"].str.contains("not an XNYS session date").all()


def test_empty_batch_passes():
    result = gate_raw_bars(good_bars().iloc[0:0])
    assert result.passed and result.checked == 0
