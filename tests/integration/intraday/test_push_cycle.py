"""The intraday_push flow and run_cycle against real stores with a fixed clock and the real math.

The source stands in for the network edge only: a registered IntradaySource that serves the
raw rows a test puts in FEED the way a real source does (sessions asked for, tickers asked
for, bars ended at `as_of`, every other row counted or refused with its reason through
split_intraday_bars). `honest=False` makes it hand over bars that have not ended, as a buggy
feed might. Feature values are checked against a plain-pandas computation of the formula.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.intraday_push import CycleIncomplete, intraday_push
from stockfeatures.intraday import source as source_registry
from stockfeatures.intraday.cycle import run_cycle
from stockfeatures.intraday.normalize import split_intraday_bars
from stockfeatures.intraday.session_clock import has_ended
from stockfeatures.intraday.source import IntradayBatch, fetch_instant, session_range
from stockfeatures.intraday.spec import BAR_LENGTH, INTRADAY_VIEW
from tests.intraday_frames import SESSION, make_intraday_bars

pytestmark = pytest.mark.integration

TICKERS = ["CYA", "CYB"]
SOURCE = "cycle_test_source"
FEED: dict = {"raw": make_intraday_bars(tickers=TICKERS, count=0), "honest": True, "failures": {}}


class FeedSource:
    """FEED as an IntradaySource (stockfeatures.intraday.source)."""

    name = SOURCE

    def fetch(self, tickers, start=None, end=None, as_of=None) -> IntradayBatch:
        now = fetch_instant(as_of)
        first, last = session_range(start, end, now)
        raw = FEED["raw"].drop(columns=["session", "created_timestamp", "source"], errors="ignore")
        starts = raw["event_timestamp"] - BAR_LENGTH
        sessions = starts.dt.tz_convert("America/New_York").dt.tz_localize(None).dt.normalize()
        inside = sessions.between(first, last).to_numpy()
        requested = raw["ticker"].isin(tickers).to_numpy()
        ended = np.asarray(has_ended(raw["event_timestamp"], now), dtype=bool) | (not FEED["honest"])
        keep = inside & requested & ended
        bars, rejected = split_intraday_bars(raw[keep], source=SOURCE)
        return IntradayBatch(bars=bars, rejected=rejected, outside_window=int((~inside).sum()),
                             not_requested=int((inside & ~requested).sum()),
                             not_ended=int((inside & requested & ~ended).sum()),
                             failures=dict(FEED["failures"]))


@pytest.fixture(scope="module", autouse=True)
def feed_registered():
    """Registered under its name for this module only (the registry is process-wide, and
    other tests list its names)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setitem(source_registry._registered, SOURCE, FeedSource)
        yield


def at(clock: str) -> pd.Timestamp:
    return pd.Timestamp(f"{SESSION} {clock}", tz="America/New_York").tz_convert("UTC")


def run(stack, clock: str, **options):
    return intraday_push(profile=stack.settings.profile, source=SOURCE, tickers=TICKERS,
                         as_of=at(clock).to_pydatetime(), **options)


def online(store, feature: str = "ret_5m") -> pd.DataFrame:
    response = store.get_online_features(features=[f"{INTRADAY_VIEW}:{feature}"],
                                         entity_rows=[{"ticker": t} for t in TICKERS]
                                         ).to_dict(include_event_timestamps=True)
    return pd.DataFrame({feature: response[feature],
                         "event_timestamp": pd.to_datetime(response[f"{feature}__ts"], unit="s", utc=True)},
                        index=TICKERS)


def plain_ret_5m(bars: pd.DataFrame) -> pd.Series:
    """close_t / close_{t-1} - 1 per ticker; the previous row is the previous slot here (no gaps)."""
    ordered = bars.sort_values(["ticker", "event_timestamp"])
    return (ordered["close"] / ordered.groupby("ticker")["close"].shift(1) - 1).rename("expected")


def test_a_cycle_stores_the_bars_that_ended_and_pushes_their_real_features(push_stack, prefect_api):
    FEED["raw"] = make_intraday_bars(tickers=TICKERS, count=7)  # 09:35 ... 10:05; 10:05 has not ended
    result = run(push_stack, "10:00:02", refetch_bars=6)

    assert result["push"]["pushed"] == 12
    assert result["read"] == result["accounted"] == 14
    assert "2 not ended" in result["lines"][0]
    stored = push_stack.warehouse.read_intraday_bars(tickers=TICKERS)
    assert len(stored) == 12 and stored["event_timestamp"].max() == at("10:00")
    features = push_stack.warehouse.read_intraday_features(tickers=TICKERS)
    merged = features.merge(FEED["raw"].assign(expected=plain_ret_5m(FEED["raw"])),
                            on=["ticker", "event_timestamp"])
    assert len(merged) == 12
    assert merged["ret_5m"].isna().sum() == 2  # each ticker's first bar of the session
    np.testing.assert_allclose(merged["ret_5m"].dropna(), merged["expected"].dropna(), rtol=1e-12)
    first_open = FEED["raw"].groupby("ticker")["open"].first()
    np.testing.assert_allclose(merged["ret_since_open"],
                               merged["close"] / merged["ticker"].map(first_open) - 1, rtol=1e-12)
    held = online(push_stack.store)
    assert (held["event_timestamp"] == at("10:00")).all()
    closes = FEED["raw"].pivot(index="event_timestamp", columns="ticker", values="close")
    expected = closes.loc[at("10:00")] / closes.loc[at("09:55")] - 1
    np.testing.assert_allclose(held["ret_5m"], expected[TICKERS], rtol=1e-12)


def test_the_next_cycle_adds_only_the_bar_that_ended_since(push_stack, prefect_api):
    FEED["raw"] = make_intraday_bars(tickers=TICKERS, count=7)  # ... 10:05
    result = run(push_stack, "10:05:01")

    assert "14 read, 2 new, 4 already stored" in result["lines"][0]
    assert "8 outside the window" in result["lines"][0]  # 09:35 ... 09:50: stored by the first cycle
    assert (result["push"]["pushed"], result["push"]["unchanged"]) == (2, 4)
    assert len(push_stack.warehouse.read_intraday_features(tickers=TICKERS)) == 14
    assert (online(push_stack.store)["event_timestamp"] == at("10:05")).all()


def test_bad_bars_unended_bars_and_absurd_features_go_to_quarantine(push_stack, prefect_api):
    raw = make_intraday_bars(tickers=TICKERS, count=9)  # ... 10:15
    ten_ten = raw["event_timestamp"] == at("10:10")
    raw.loc[ten_ten & (raw["ticker"] == "CYA"), "high"] = 1.0  # high below open/close
    raw.loc[ten_ten & (raw["ticker"] == "CYB"), ["open", "high", "low", "close"]] = 20_000.0
    FEED.update(raw=raw, honest=False)  # hands over the 10:15 bars at 10:10:02: a feed bug
    try:
        with pytest.raises(CycleIncomplete, match="not ended"):
            run(push_stack, "10:10:02")
    finally:
        FEED["honest"] = True

    quarantined = push_stack.warehouse.read_quarantine()
    mine = quarantined[quarantined["ticker"].isin(TICKERS)]
    by_stage = mine.groupby("stage")["reason"].apply(list).to_dict()
    assert len(by_stage["intraday_bars"]) == 3  # CYA 10:10 (high) and both 10:15 bars
    assert any("high below" in r for r in by_stage["intraday_bars"])
    # CYB's 20,000 close is a valid bar (below the plausible-price cap) but its ret_5m
    # (20000 / 102 - 1 ~ 195) is outside the spec's [-1, 10]: the feature row is refused.
    assert len(by_stage["intraday_features"]) == 1
    assert "ret_5m outside its valid range" in by_stage["intraday_features"][0]
    stored = push_stack.warehouse.read_intraday_bars(tickers=TICKERS)
    assert stored["event_timestamp"].max() == at("10:10")
    assert (stored["event_timestamp"] <= at("10:10:02")).all()
    assert (online(push_stack.store)["event_timestamp"] == at("10:05")).all()


def test_every_row_the_source_read_ends_in_exactly_one_bucket(push_stack, prefect_api):
    raw = make_intraday_bars(tickers=[*TICKERS, "CYZ"], count=13)  # ... 10:35 (not ended at 10:30:01)
    raw.loc[(raw["ticker"] == "CYA") & (raw["event_timestamp"] == at("10:20")), "volume"] = -5.0
    earlier = make_intraday_bars(tickers=["CYA"], session="2025-06-27", count=1)
    FEED.update(raw=pd.concat([raw, earlier], ignore_index=True), failures={"CYC": "no data returned"})
    try:
        report = run_cycle(FeedSource(), push_stack.warehouse, push_stack.store, at("10:30:01"),
                           tickers=[*TICKERS, "CYC"], refetch_bars=4)
    finally:
        FEED["failures"] = {}

    assert report.read == len(FEED["raw"]) == 40
    assert report.accounted() == report.read
    assert (report.bars_stored, report.bars_unchanged) == (7, 0)  # 10:15 ... 10:30, less CYA 10:20
    assert report.source_rejected == 1 and "negative volume" in report.rejected_reasons
    assert report.not_ended == 2  # the 10:35 bars
    assert report.not_requested == 13  # CYZ
    assert report.outside_window == 1 + 16  # the earlier session's bar; 09:35 ... 10:10 of each
    assert report.failures == {"CYC": "no data returned"} and not report.ok
    assert any("CYC (no data returned)" in line for line in report.lines())
    # CYB's 30-minute windows up to 10:35 hold its 20,000 bar: range_30m is out of bounds.
    assert report.features_rejected == 4
    assert report.push.pushed == 3  # CYA 10:15, 10:25, 10:30


@pytest.mark.parametrize("when", ["2025-11-27 12:00:02", "2025-11-28 13:05:01", "2025-06-28 11:00:00",
                                  "2025-06-30 09:30:01", "2025-06-30 16:05:02"])
def test_no_cycle_on_holidays_weekends_or_outside_regular_hours(push_stack, prefect_api, when):
    stamp = pd.Timestamp(when, tz="America/New_York").tz_convert("UTC").to_pydatetime()
    result = intraday_push(profile=push_stack.settings.profile, source=SOURCE, tickers=TICKERS, as_of=stamp)
    assert result["skipped"] is True
