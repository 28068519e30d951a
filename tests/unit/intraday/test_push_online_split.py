"""How a push splits its rows for the online store (push._online_rows), on a batch that mixes
every case: older than the bar online, a revision of it, a newer bar, a ticker never online."""

from __future__ import annotations

import pandas as pd
import pytest

from stockfeatures.intraday import push
from stockfeatures.storage.tables import intraday_features_schema

T1, T2, T3 = (pd.Timestamp(f"2025-06-30 14:{m}", tz="UTC") for m in ("35", "40", "45"))
ONLINE = {"AAA": T2, "BBB": T1}  # what the online store holds; CCC holds nothing


def batch() -> pd.DataFrame:
    rows = [("AAA", T1, 0), ("AAA", T2, 1), ("AAA", T2, 2),  # older bar, two revisions of T2
            ("BBB", T1, 1), ("BBB", T3, 0),                  # revision of T1, then a newer bar
            ("CCC", T1, 0)]                                  # nothing online yet
    frame = pd.DataFrame({
        "ticker": [t for t, _, _ in rows],
        "event_timestamp": [e for _, e, _ in rows],
        "created_timestamp": [e + pd.Timedelta(minutes=m) for _, e, m in rows],
    })
    for i, name in enumerate(intraday_features_schema().values):
        frame[name] = 0.01 * i
    return push._for_feast(frame)


def keys(frame: pd.DataFrame) -> set[tuple]:
    return {(t, e, c) for t, e, c in frame[["ticker", "event_timestamp", "created_timestamp"]]
            .itertuples(index=False)}


@pytest.fixture
def online(monkeypatch):
    def bar_ends(store, tickers):
        return {t: ONLINE[t].value for t in tickers if t in ONLINE}

    monkeypatch.setattr(push, "_online_bar_ends", bar_ends)
    return monkeypatch


def test_redis_gets_newer_rows_by_push_and_the_newest_revision_past_its_timestamp_check(online):
    online.setattr(push, "_online_dedups", lambda store: True)
    rows = batch()
    split = push._online_rows(object(), rows)
    minutes = pd.Timedelta(minutes=1)
    assert keys(split.revisions) == {("AAA", T2, T2 + 2 * minutes)}
    assert keys(split.rows) == {("BBB", T1, T1 + minutes), ("BBB", T3, T3), ("CCC", T1, T1)}


def test_a_store_that_keeps_the_last_write_gets_every_row_not_older_than_its_bar(online):
    online.setattr(push, "_online_dedups", lambda store: False)
    rows = batch()
    split = push._online_rows(object(), rows)
    assert split.revisions.empty
    assert keys(split.rows) == keys(rows) - {("AAA", T1, T1)}
    assert split.rows["event_timestamp"].is_monotonic_increasing  # event order is kept
