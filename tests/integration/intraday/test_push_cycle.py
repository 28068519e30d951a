"""The intraday_push flow runs one cycle against real stores with a fixed clock.

The feed stands in for the network edge: it hands the cycle exactly the bars a test puts in
it (including ones a buggy feed should not have sent). The feature computation is a stand-in
built from the features_intraday schema until the tier's math lands; it derives every
feature from the bar's close, so a bar with an absurd close yields out-of-range features.
"""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.intraday_push import CycleIncomplete, intraday_push
from stockfeatures.intraday.fetchers import register_fetcher
from stockfeatures.intraday.spec import INTRADAY_FEATURE_NAMES, INTRADAY_VIEW
from stockfeatures.storage.tables import intraday_features_schema
from tests.intraday_frames import SESSION, make_intraday_bars

pytestmark = pytest.mark.integration

TICKERS = ["CYA", "CYB"]
FEED: dict[str, pd.DataFrame] = {"bars": make_intraday_bars(tickers=TICKERS, count=0)}
register_fetcher("cycle_test_feed", lambda: feed)


def feed(tickers, start, end) -> pd.DataFrame:
    bars = FEED["bars"]
    chosen = bars[bars["ticker"].isin(tickers) & (bars["event_timestamp"] > start)]
    return chosen.drop(columns=["created_timestamp"]).reset_index(drop=True)


def close_based_features(bars: pd.DataFrame) -> pd.DataFrame:
    schema = intraday_features_schema()
    out = bars[["ticker", "event_timestamp", "created_timestamp"]].copy()
    for position, name in enumerate(schema.values):
        out[name] = bars["close"].to_numpy() * 1e-3 + position * 1e-6
    return out[list(schema.columns)]


def at(clock: str) -> pd.Timestamp:
    return pd.Timestamp(f"{SESSION} {clock}", tz="America/New_York").tz_convert("UTC")


def run(stack, clock: str, **options):
    return intraday_push(profile=stack.settings.profile, source="cycle_test_feed", tickers=TICKERS,
                         as_of=at(clock).to_pydatetime(), compute=close_based_features, **options)


def online(store) -> pd.DataFrame:
    name = INTRADAY_FEATURE_NAMES[0]
    response = store.get_online_features(features=[f"{INTRADAY_VIEW}:{name}"],
                                         entity_rows=[{"ticker": t} for t in TICKERS]
                                         ).to_dict(include_event_timestamps=True)
    return pd.DataFrame({name: response[name],
                         "event_timestamp": pd.to_datetime(response[f"{name}__ts"], unit="s", utc=True)},
                        index=TICKERS)


def test_a_cycle_stores_the_bars_that_ended_and_pushes_their_features(push_stack, prefect_api):
    FEED["bars"] = make_intraday_bars(tickers=TICKERS, count=6)  # 09:35 ... 10:00
    result = run(push_stack, "10:00:02", refetch_bars=6)

    assert result["push"]["pushed"] == 12
    assert len(push_stack.warehouse.read_intraday_bars(tickers=TICKERS)) == 12
    assert len(push_stack.warehouse.read_intraday_features(tickers=TICKERS)) == 12
    held = online(push_stack.store)
    assert (held["event_timestamp"] == at("10:00")).all()
    newest = FEED["bars"].groupby("ticker")["close"].last()
    assert held[INTRADAY_FEATURE_NAMES[0]].round(12).tolist() == (newest * 1e-3).round(12).tolist()


def test_the_next_cycle_adds_only_the_bar_that_ended_since(push_stack, prefect_api):
    FEED["bars"] = make_intraday_bars(tickers=TICKERS, count=7)  # ... 10:05
    result = run(push_stack, "10:05:01")

    assert result["lines"][0].startswith("bars ended in")
    assert "6 fetched, 2 new, 4 already stored" in result["lines"][0]
    assert (result["push"]["pushed"], result["push"]["unchanged"]) == (2, 4)
    assert len(push_stack.warehouse.read_intraday_features(tickers=TICKERS)) == 14
    assert (online(push_stack.store)["event_timestamp"] == at("10:05")).all()


def test_bad_bars_and_bars_not_ended_go_to_quarantine_and_online_keeps_the_last_good(push_stack, prefect_api):
    bars = make_intraday_bars(tickers=TICKERS, count=9)  # ... 10:15
    ten_ten = bars["event_timestamp"] == at("10:10")
    bars.loc[ten_ten & (bars["ticker"] == "CYA"), "high"] = 1.0  # high below open/close
    bars.loc[ten_ten & (bars["ticker"] == "CYB"), ["open", "high", "low", "close"]] = 20_000.0
    FEED["bars"] = bars  # the 10:15 bars have not ended at 10:10:02: a feed bug

    with pytest.raises(CycleIncomplete, match="not ended"):
        run(push_stack, "10:10:02")

    quarantined = push_stack.warehouse.read_quarantine()
    mine = quarantined[quarantined["ticker"].isin(TICKERS)]
    by_stage = mine.groupby("stage")["reason"].apply(list).to_dict()
    assert len(by_stage["intraday_bars"]) == 3  # CYA 10:10 (high) and both 10:15 bars
    assert any("high is below" in r for r in by_stage["intraday_bars"])
    assert len(by_stage["intraday_features"]) == 1  # CYB 10:10: features out of range
    stored = push_stack.warehouse.read_intraday_bars(tickers=TICKERS)
    assert stored["event_timestamp"].max() == at("10:10")  # CYB's bar itself is a valid bar
    assert (stored["event_timestamp"] <= at("10:10:02")).all()
    assert (online(push_stack.store)["event_timestamp"] == at("10:05")).all()


@pytest.mark.parametrize("when", ["2025-11-27 12:00:02", "2025-11-28 13:05:01", "2025-06-28 11:00:00",
                                  "2025-06-30 09:30:01", "2025-06-30 16:05:02"])
def test_no_cycle_on_holidays_weekends_or_outside_regular_hours(push_stack, prefect_api, when):
    stamp = pd.Timestamp(when, tz="America/New_York").tz_convert("UTC").to_pydatetime()
    result = intraday_push(profile=push_stack.settings.profile, source="cycle_test_feed",
                           tickers=TICKERS, as_of=stamp, compute=close_based_features)
    assert result["skipped"] is True
