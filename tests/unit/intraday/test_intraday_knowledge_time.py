"""Knowledge time: a revised bar re-dates exactly the rows it can change, and no value is
known before every bar it used had ended and was known."""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockfeatures.intraday.compute import compute_intraday_features
from stockfeatures.intraday.normalize import split_intraday_bars
from tests.unit.intraday.reference import FIVE, reference_features, slot_of
from tests.unit.intraday.synthetic import session_bars, sessions

NY = "America/New_York"


def test_revised_bar_is_hidden_from_earlier_backtests():
    days = sessions("2024-11-04", 22)
    bars = split_intraday_bars(session_bars(["AAA", "BBB"], days, seed=5))[0]
    revised_end = pd.Timestamp(f"{days[20].date()} 10:00", tz=NY)
    learned = pd.Timestamp(f"{days[21].date()} 11:02", tz=NY)  # not a bar end
    hit = (bars["ticker"] == "AAA") & (bars["event_timestamp"] == revised_end)
    bars.loc[hit, "close"] *= 1.01
    bars.loc[hit, "high"] = bars.loc[hit, ["high", "close"]].max(axis=1)
    bars.loc[hit, "created_timestamp"] = learned
    features = compute_intraday_features(bars)
    redated = features[features["created_timestamp"] == learned]
    aaa = features["ticker"] == "AAA"
    same_session_later = aaa & (features["event_timestamp"] >= revised_end) & \
        (features["event_timestamp"] <= pd.Timestamp(f"{days[20].date()} 16:00", tz=NY))
    next_day_same_slot = aaa & (features["event_timestamp"] == pd.Timestamp(f"{days[21].date()} 10:00", tz=NY))
    assert set(redated.index) == set(features.index[same_session_later | next_day_same_slot])
    untouched = features[~aaa | (features["event_timestamp"] < revised_end)]
    assert (untouched["created_timestamp"] == untouched["event_timestamp"]).all()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), revisions=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 41),
                                                                 st.integers(1, 600)), max_size=6))
def test_no_value_is_known_before_any_bar_it_used_had_ended_and_was_known(seed, revisions):
    days = sessions("2024-11-25", 3)
    bars = split_intraday_bars(session_bars(["P", "Q"], days, seed=seed,
                                            drop={("Q", days[1], seed % 42)}))[0]
    for day, slot, minutes in revisions:
        end = pd.Timestamp(days[day]).tz_localize(NY) + pd.Timedelta(hours=9, minutes=35 + 5 * slot)
        hit = (bars["ticker"] == "P") & (bars["event_timestamp"] == end)
        bars.loc[hit, "created_timestamp"] = end + pd.Timedelta(minutes=minutes)
    features = compute_intraday_features(bars)
    by_key = {(r["ticker"], r["event_timestamp"]): r for r in bars.to_dict("records")}
    for row in features.itertuples(index=False):
        assert row.created_timestamp >= row.event_timestamp
        session, slot = slot_of(row.event_timestamp - FIVE)
        opening = row.event_timestamp - (slot + 1) * FIVE
        for j in range(slot + 1):  # every bar of the session up to this one
            used = by_key.get((row.ticker, opening + (j + 1) * FIVE))
            if used:
                assert row.created_timestamp >= used["created_timestamp"]
    expected = reference_features(bars)
    known = np.array([expected[(t, e)]["known"] for t, e in zip(features["ticker"], features["event_timestamp"], strict=True)])
    assert (features["created_timestamp"].to_numpy() == pd.DatetimeIndex(known).to_numpy()).all()
