"""Normalization: every input row ends as a bar or as a rejected row with its reason."""

import pandas as pd
import pytest

from stockfeatures.intraday.normalize import (
    NOT_YET_ENDED,
    InvalidIntradayBars,
    count_reasons,
    split_intraday_bars,
)
from tests.unit.intraday.synthetic import session_bars

NY = "America/New_York"


def _bars():
    return session_bars(["AAPL", "MSFT"], [pd.Timestamp("2024-11-27")], seed=3)


def test_good_bars_are_stamped_at_their_end_and_known_then():
    raw = _bars()
    good, bad = split_intraday_bars(raw, source="test")
    assert bad.empty and len(good) == len(raw) == 156
    first = good.iloc[0]
    assert first["event_timestamp"] == pd.Timestamp("2024-11-27 09:35", tz=NY)
    assert first["created_timestamp"] == first["event_timestamp"]
    assert first["session"] == pd.Timestamp("2024-11-27") and first["source"] == "test"


def test_every_broken_rule_is_named_and_nothing_is_lost():
    raw = _bars()
    raw.loc[0, "ticker"] = "ſPY"
    raw.loc[1, "bar_start"] = pd.Timestamp("2024-11-27 09:37", tz=NY)
    raw.loc[2, "bar_start"] = pd.Timestamp("2024-11-27 16:00", tz=NY)
    raw.loc[3, "high"] = raw.loc[3, "low"] / 2
    raw.loc[4, "close"] = -1.0
    raw.loc[5, "volume"] = -5.0
    raw.loc[6, "open"] = float("nan")
    raw = pd.concat([raw, raw.iloc[[10]]], ignore_index=True)
    good, bad = split_intraday_bars(raw)
    assert len(good) + len(bad) == len(raw)
    reasons = bad["reason"].to_dict()
    assert "non-ASCII" in reasons[0]
    assert "not the start of a 5-minute slot" in reasons[1] and "not the start" in reasons[2]
    assert "high below" in reasons[3]
    assert "non-positive price" in reasons[4]
    assert "negative volume" in reasons[5]
    assert "missing or non-numeric" in reasons[6]
    assert reasons[10] == reasons[len(raw) - 1] == "duplicate (ticker, bar)"
    assert sum(count_reasons(bad).values()) >= len(bad)


def test_bar_not_ended_at_its_knowledge_time_is_refused():
    raw = _bars().iloc[:6]
    known = pd.Timestamp("2024-11-27 09:45", tz=NY)
    good, bad = split_intraday_bars(raw, known_at=known)
    assert len(good) == 3 and (good["created_timestamp"] == known).all()
    assert (bad["reason"] == NOT_YET_ENDED).all() and len(bad) == 3


def test_event_timestamp_input_means_the_bars_end():
    raw = _bars().iloc[:3]
    ends = raw.drop(columns="bar_start").assign(event_timestamp=raw["bar_start"] + pd.Timedelta(minutes=5))
    assert split_intraday_bars(ends)[0].equals(split_intraday_bars(raw)[0])


def test_naive_timestamps_and_missing_columns_refuse_the_frame():
    raw = _bars().iloc[:3]
    with pytest.raises(InvalidIntradayBars, match="without a timezone"):
        split_intraday_bars(raw.assign(bar_start=raw["bar_start"].dt.tz_localize(None)))
    with pytest.raises(InvalidIntradayBars, match="missing columns"):
        split_intraday_bars(raw.drop(columns="volume"))
