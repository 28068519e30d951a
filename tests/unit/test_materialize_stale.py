"""Which tickers materialize_online rewrites: exactly those whose online row differs."""

import math

import pandas as pd

from stockfeatures.materialize_online import _stale

T1 = pd.Timestamp("2026-12-01 21:00", tz="UTC")
T0 = pd.Timestamp("2026-11-30 21:00", tz="UTC")


def frame(rows: dict[str, tuple]) -> pd.DataFrame:
    return pd.DataFrame([{"ticker": t, "event_timestamp": at, "a": a, "b": b}
                         for t, (at, a, b) in rows.items()]).set_index("ticker")


def test_only_tickers_whose_values_or_session_differ_are_stale():
    target = frame({"SAME": (T1, 1.0, math.nan), "VALUE": (T1, 1.0, 2.0), "NAN": (T1, 1.0, 2.0),
                    "OLDER": (T1, 1.0, 2.0), "ABSENT": (T1, 1.0, 2.0), "EMPTY": (T1, 1.0, 2.0)})
    online = frame({"SAME": (T1, 1.0, math.nan), "VALUE": (T1, 1.0, 2.5), "NAN": (T1, math.nan, 2.0),
                    "OLDER": (T0, 1.0, 2.0), "EMPTY": (pd.NaT, math.nan, math.nan)})
    assert list(_stale(target, online, ["a", "b"])) == ["VALUE", "NAN", "OLDER", "ABSENT", "EMPTY"]


def test_nothing_is_stale_when_online_matches():
    target = frame({"A": (T1, 0.5, -1.0), "B": (T0, math.nan, math.nan)})
    assert list(_stale(target, target.copy(), ["a", "b"])) == []
