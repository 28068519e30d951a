"""Intraday rows through Feast's push API, online and offline, in `local` and `prod`."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from feast.data_source import PushMode

from stockfeatures.intraday.push import (
    VIA_FEAST,
    VIA_WAREHOUSE,
    UnknownPushMode,
    push_intraday_features,
)
from stockfeatures.intraday.spec import INTRADAY_FEATURE_NAMES, INTRADAY_VIEW
from stockfeatures.storage import InvalidFrame
from tests.intraday_frames import make_intraday_features

pytestmark = pytest.mark.integration


def online(store, tickers) -> pd.DataFrame:
    response = store.get_online_features(
        features=[f"{INTRADAY_VIEW}:{name}" for name in INTRADAY_FEATURE_NAMES],
        entity_rows=[{"ticker": t} for t in tickers],
    ).to_dict(include_event_timestamps=True)
    frame = pd.DataFrame({name: response[name] for name in INTRADAY_FEATURE_NAMES}, index=tickers)
    frame["event_timestamp"] = pd.to_datetime(response[f"{INTRADAY_FEATURE_NAMES[0]}__ts"], unit="s", utc=True)
    return frame


def test_pushed_rows_are_readable_online_and_stored_offline(push_stack):
    tickers = ("PA", "PB")
    rows = make_intraday_features(tickers=tickers, count=3)
    result = push_intraday_features(push_stack.store, push_stack.warehouse, rows)

    assert (result.received, result.pushed, result.unchanged) == (6, 6, 0)
    assert result.offline_via == (VIA_WAREHOUSE if push_stack.settings.profile == "local" else VIA_FEAST)
    held = online(push_stack.store, list(tickers))
    newest = rows.sort_values("event_timestamp").groupby("ticker").tail(1).set_index("ticker")
    for ticker in tickers:
        assert held.loc[ticker, "event_timestamp"] == newest.loc[ticker, "event_timestamp"]
        for name in INTRADAY_FEATURE_NAMES:
            assert math.isclose(held.loc[ticker, name], newest.loc[ticker, name])
    stored = push_stack.warehouse.read_intraday_features(tickers=list(tickers))
    assert len(stored) == len(rows)


def test_repushing_the_same_bars_adds_no_version(push_stack):
    tickers = ("RA",)
    rows = make_intraday_features(tickers=tickers, count=4)
    push_intraday_features(push_stack.store, push_stack.warehouse, rows)
    later = rows.assign(created_timestamp=rows["created_timestamp"] + pd.Timedelta(minutes=2))

    again = push_intraday_features(push_stack.store, push_stack.warehouse, later)

    assert (again.pushed, again.unchanged) == (0, len(rows))
    history = push_stack.warehouse.read_intraday_features(
        tickers=list(tickers), as_of=pd.Timestamp("2030-01-01", tz="UTC"))
    assert len(history) == len(rows)
    assert (history["created_timestamp"] == history["event_timestamp"]).all()


def test_a_revised_bar_is_a_new_version_offline_and_replaces_the_bar_online(push_stack):
    rows = make_intraday_features(tickers=("VA",), count=2)
    push_intraday_features(push_stack.store, push_stack.warehouse, rows)
    revised = rows.tail(1).assign(created_timestamp=rows["created_timestamp"].iloc[-1]
                                  + pd.Timedelta(minutes=1), ret_5m=0.25)

    result = push_intraday_features(push_stack.store, push_stack.warehouse, revised)

    assert result.pushed == 1
    assert push_stack.warehouse.read_intraday_features(tickers=["VA"])["ret_5m"].iloc[-1] == 0.25
    # Same event timestamp as the bar online: Feast's Redis writer alone would skip it.
    held = online(push_stack.store, ["VA"]).loc["VA"]
    assert held["ret_5m"] == 0.25
    assert held["event_timestamp"] == rows["event_timestamp"].iloc[-1]


def test_a_revision_of_an_older_bar_never_replaces_the_newer_bar_online(push_stack):
    rows = make_intraday_features(tickers=("VB",), count=3)
    push_intraday_features(push_stack.store, push_stack.warehouse, rows)
    revised = rows.iloc[[0]].assign(created_timestamp=rows["created_timestamp"].iloc[-1]
                                    + pd.Timedelta(minutes=5), ret_5m=0.5)

    assert push_intraday_features(push_stack.store, push_stack.warehouse, revised).pushed == 1

    held = online(push_stack.store, ["VB"]).loc["VB"]
    assert held["event_timestamp"] == rows["event_timestamp"].iloc[-1]
    assert held["ret_5m"] == rows["ret_5m"].iloc[-1]


def test_an_online_only_revision_replaces_the_bar_online(push_stack):
    rows = make_intraday_features(tickers=("VC",), count=1)
    push_intraday_features(push_stack.store, push_stack.warehouse, rows, to=PushMode.ONLINE)
    revised = rows.assign(created_timestamp=rows["created_timestamp"] + pd.Timedelta(minutes=1),
                          vwap_gap=-0.125)

    push_intraday_features(push_stack.store, push_stack.warehouse, revised, to=PushMode.ONLINE)

    assert online(push_stack.store, ["VC"]).loc["VC", "vwap_gap"] == -0.125


def test_an_older_push_never_rewinds_the_online_value(push_stack):
    rows = make_intraday_features(tickers=("OA",), count=3)
    push_intraday_features(push_stack.store, push_stack.warehouse, rows.tail(1))
    late = push_intraday_features(push_stack.store, push_stack.warehouse, rows.head(2))
    assert late.pushed == 2  # stored offline: backtests see them
    assert online(push_stack.store, ["OA"]).loc["OA", "event_timestamp"] == rows["event_timestamp"].iloc[-1]


def test_a_bad_batch_writes_nothing_and_names_the_problem(push_stack):
    rows = make_intraday_features(tickers=("BA",), count=2)
    rows["created_timestamp"] = rows["created_timestamp"].dt.tz_localize(None)
    with pytest.raises(InvalidFrame, match="created_timestamp must be timezone-aware"):
        push_intraday_features(push_stack.store, push_stack.warehouse, rows)
    with pytest.raises(InvalidFrame, match="missing columns"):
        push_intraday_features(push_stack.store, push_stack.warehouse, rows.drop(columns=["ret_5m"]))
    with pytest.raises(UnknownPushMode, match="online_and_offline"):
        push_intraday_features(push_stack.store, push_stack.warehouse, rows, to="everywhere")
    assert push_stack.warehouse.read_intraday_features(tickers=["BA"]).empty


def test_online_only_push_records_nothing_offline(push_stack):
    rows = make_intraday_features(tickers=("NA",), count=1)
    result = push_intraday_features(push_stack.store, push_stack.warehouse, rows, to=PushMode.ONLINE)
    assert result.pushed == 1
    assert online(push_stack.store, ["NA"]).loc["NA", "event_timestamp"] == rows["event_timestamp"].iloc[0]
    assert push_stack.warehouse.read_intraday_features(tickers=["NA"]).empty
