"""Turn what an intraday source produced into canonical 5-minute bars, losing nothing.

Every intraday source ends here, so the rules a bar must satisfy are written once (the
daily rules of prices/normalize.py plus the clock's): a valid ticker, finite positive
prices, high >= max(open, close), low <= min(open, close), volume >= 0, a bar start on a
5-minute slot of a regular XNYS session, one row per (ticker, bar), and a knowledge time
at or after the bar's end. `split_intraday_bars` returns (good bars, every other row with
its `reason`), so a caller stores the first and quarantines the second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockfeatures.intraday import session_clock
from stockfeatures.intraday.frames import INTRADAY_BAR_COLUMNS, VALUE_COLUMNS, empty_intraday_bars
from stockfeatures.intraday.spec import BAR_LENGTH
from stockfeatures.prices.normalize import MAX_PLAUSIBLE_PRICE, MAX_PLAUSIBLE_VOLUME
from stockfeatures.prices.tickers import ticker_problem

NOT_YET_ENDED = "not yet ended (knowledge time before the bar's end)"
_TIME_COLUMNS = ("bar_start", "event_timestamp")


class InvalidIntradayBars(ValueError):
    """A frame no row of which can be judged (missing or naive time columns)."""


class _Reasons:
    def __init__(self, index: pd.Index) -> None:
        self.text = pd.Series("", index=index, dtype=object)

    def add(self, mask, reason: str | pd.Series) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        words = reason[mask] if isinstance(reason, pd.Series) else reason
        current = self.text[mask]
        self.text[mask] = current.where(current == "", current + "; ") + words

    @property
    def bad(self) -> np.ndarray:
        return (self.text != "").to_numpy()


def _instants(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column]
    if not isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = pd.to_datetime(values, errors="coerce", utc=False)
        if not isinstance(parsed.dtype, pd.DatetimeTZDtype) and parsed.notna().any():
            raise InvalidIntradayBars(
                f"intraday bars: column {column!r} holds timestamps without a timezone ({values.dtype}); "
                "give instants with their zone (e.g. .dt.tz_localize('America/New_York'))"
            )
        values = parsed
    return values.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def _bar_starts(frame: pd.DataFrame) -> pd.Series:
    present = [column for column in _TIME_COLUMNS if column in frame.columns]
    if len(present) != 1:
        raise InvalidIntradayBars(
            "intraday bars need exactly one of 'bar_start' (the slot's start) or 'event_timestamp' "
            f"(the bar's end); the frame has {list(frame.columns)}"
        )
    stamps = _instants(frame, present[0])
    return stamps - BAR_LENGTH if present[0] == "event_timestamp" else stamps


def _knowledge(frame: pd.DataFrame, ends: pd.Series, known_at) -> pd.Series:
    if "created_timestamp" in frame.columns:
        return _instants(frame, "created_timestamp")
    if known_at is None:
        return ends
    stamp = pd.Timestamp(known_at)
    if stamp.tzinfo is None:
        raise ValueError(f"known_at={known_at!r} has no timezone; pass a UTC-aware timestamp")
    return pd.Series(stamp.tz_convert("UTC"), index=frame.index).astype("datetime64[ns, UTC]")


def split_intraday_bars(frame: pd.DataFrame, known_at=None,
                        source: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(canonical bars sorted by ticker and event_timestamp, the other rows + `reason`).

    frame: ticker, bar_start or event_timestamp (tz-aware), open, high, low, close, volume,
    optionally created_timestamp and source. Knowledge time: the frame's created_timestamp,
    else `known_at`, else the bar's end (a first backfill). Extra columns are dropped.
    """
    missing = [c for c in ("ticker", *VALUE_COLUMNS) if c not in frame.columns]
    if missing:
        raise InvalidIntradayBars(f"intraday bars frame is missing columns {missing}; it has {list(frame.columns)}")
    if frame.empty:
        return empty_intraday_bars(), frame.assign(reason=pd.Series(dtype=object))
    reasons = _Reasons(frame.index)
    codes, uniques = pd.factorize(frame["ticker"], use_na_sentinel=False)  # judge each ticker once
    judged = [ticker_problem(value) for value in uniques]
    problems = pd.Series(np.asarray(judged, dtype=object)[codes], index=frame.index, dtype=object)
    reasons.add(problems.notna(), problems.fillna(""))
    spelled = [value if problem else value.strip(" ").upper() for value, problem in zip(uniques, judged, strict=True)]
    tickers = pd.Series(np.asarray(spelled, dtype=object)[codes], index=frame.index, dtype=object)

    starts = _bar_starts(frame)
    clock = session_clock.locate_slots(starts)
    reasons.add(clock.problem.notna(), clock.problem.fillna(""))
    ends = starts + BAR_LENGTH
    created = _knowledge(frame, ends, known_at)
    reasons.add(created.isna() & starts.notna(), "knowledge time is missing")
    ended = np.zeros(len(frame), dtype=bool)
    timed = (starts.notna() & created.notna()).to_numpy()
    ended[timed] = session_clock.has_ended(ends[timed], created[timed])
    reasons.add(timed & ~ended, NOT_YET_ENDED)

    numbers = frame[list(VALUE_COLUMNS)].apply(pd.to_numeric, errors="coerce").astype(float)
    finite = np.isfinite(numbers).all(axis=1).to_numpy()
    reasons.add(~finite, "missing or non-numeric price or volume")
    o, h, low, c, v = (numbers[column].to_numpy() for column in VALUE_COLUMNS)
    prices = numbers[["open", "high", "low", "close"]]
    reasons.add(finite & (prices <= 0).any(axis=1).to_numpy(), "non-positive price")
    reasons.add(finite & (prices > MAX_PLAUSIBLE_PRICE).any(axis=1).to_numpy(),
                f"implausible price (above {MAX_PLAUSIBLE_PRICE:g})")
    reasons.add(finite & (v > MAX_PLAUSIBLE_VOLUME), f"implausible volume (above {MAX_PLAUSIBLE_VOLUME:g})")
    reasons.add(finite & (h < np.maximum(o, c)), "high below max(open, close)")
    reasons.add(finite & (low > np.minimum(o, c)), "low above min(open, close)")
    reasons.add(finite & (v < 0), "negative volume")
    keyed = (problems.isna() & clock.problem.isna()).to_numpy()
    duplicated = np.zeros(len(frame), dtype=bool)
    duplicated[keyed] = pd.DataFrame({"t": tickers[keyed], "s": starts[keyed]}).duplicated(keep=False).to_numpy()
    reasons.add(duplicated, "duplicate (ticker, bar)")

    labels = frame["source"] if "source" in frame.columns else pd.Series(source, index=frame.index, dtype=object)
    result = pd.DataFrame({
        "ticker": tickers.astype(object),
        "session": clock.session,
        **{column: numbers[column] for column in VALUE_COLUMNS},
        "event_timestamp": ends,
        "created_timestamp": created,
        "source": labels.astype(object),
    }, index=frame.index)
    bad = reasons.bad
    good = result.loc[~bad].sort_values(["ticker", "event_timestamp"], ignore_index=True)
    return good[list(INTRADAY_BAR_COLUMNS)], frame[bad].assign(reason=reasons.text[bad])


def count_reasons(rejected: pd.DataFrame) -> dict[str, int]:
    """Rows per rule (a row breaking two rules counts under both), for run summaries."""
    if rejected.empty:
        return {}
    return rejected["reason"].str.split("; ").explode().value_counts().to_dict()
