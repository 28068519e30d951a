"""The feature gate from a start date keeps exactly the rows, values and verdicts that the gate
over the whole history gives from that date on: its window and its warm-up counts (the rows'
own history, from the panel) do not depend on the input's row order."""

from __future__ import annotations

import pandas as pd
import pytest

from stockfeatures.prices.adjust import adjust_bars
from stockfeatures.prices.sample import SampleSource
from stockfeatures.validation.feature_passes import gate_feature_passes

# RIVN lists on 2021-11-10 (its warm-up rows fall inside the window), BA is halted on 2022-03-09.
TICKERS = ["AAPL", "BA", "RIVN", "MSFT", "SPY"]


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    batch = SampleSource(tickers=TICKERS).fetch(TICKERS, "2021-01-04", "2022-06-30")
    return adjust_bars(batch.bars, batch.actions)


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["ticker", "event_timestamp"]).reset_index(drop=True)


@pytest.mark.parametrize("start", ["2021-11-15", "2022-03-09"])
def test_a_gate_from_start_keeps_the_whole_historys_rows_from_start(bars, start):
    first = pd.Timestamp(start)
    whole = gate_feature_passes(bars, "SPY")
    shuffled = bars.sample(frac=1.0, random_state=7)
    windowed = gate_feature_passes(shuffled, "SPY", first.date())

    expected = whole.accepted[whole.accepted["event_timestamp"] >= first.tz_localize("America/New_York")]
    assert windowed.checked == int((bars["session"] >= first).sum())
    pd.testing.assert_frame_equal(_keyed(windowed.accepted), _keyed(expected), check_exact=True)
    rivn = windowed.accepted[windowed.accepted["ticker"] == "RIVN"]
    assert len(rivn) and rivn["mom_12_1"].isna().all()  # the late listing is still warming up
