"""Turn whatever a source produced into the canonical raw-bars and corporate-actions frames.

Every source ends here, so the rules a bar must satisfy are written once. All rules are
checked at once: `split_bars` returns the good bars and every offending row with its
`reason` (what the ingest stage quarantines); `normalize_bars` raises InvalidBars carrying
the same rows, for callers that want all-or-nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockfeatures import trading_calendar
from stockfeatures.prices.frames import (
    ACTION_COLUMNS,
    ACTION_KINDS,
    PRICE_COLUMNS,
    RAW_BAR_COLUMNS,
    SPLIT,
    empty_actions,
    empty_bars,
)
from stockfeatures.prices.tickers import InvalidTicker, validate_ticker

_EXAMPLES_PER_RULE = 5
# Bounds of a plausible raw daily bar (docs/data-integrity.md): the dearest listed share
# (BRK.A) trades below 1e6 USD and the busiest sessions below 1e11 shares; 1e300 is a bug.
MAX_PLAUSIBLE_PRICE = 1e7
MAX_PLAUSIBLE_VOLUME = 1e13


class _RejectedRows(ValueError):
    """Base of the typed row errors: the message names rules, tickers and dates."""

    def __init__(self, message: str, *, rows: pd.DataFrame, rules: tuple[str, ...]) -> None:
        super().__init__(message)
        self.rows = rows
        self.rules = rules


class InvalidBars(_RejectedRows):
    """Bars that break a rule; `.rows` holds them (input columns + `reason`) for quarantine."""


class InvalidActions(_RejectedRows):
    """Corporate actions that break a rule; `.rows` holds them for quarantine."""


class _Checks:
    """Collects (rule, mask) pairs and raises one error describing all of them."""

    def __init__(self, frame: pd.DataFrame, tickers: pd.Series, dates: pd.Series) -> None:
        self.frame = frame
        self.tickers = tickers
        self.dates = dates
        self.failed: list[tuple[str, np.ndarray]] = []

    def rule(self, name: str, mask) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.failed.append((name, mask))

    def reasons(self) -> tuple[np.ndarray, pd.Series]:
        """(rows breaking any rule, "; "-joined rule names per row)."""
        reasons = pd.Series("", index=self.frame.index, dtype=object)
        any_bad = np.zeros(len(self.frame), dtype=bool)
        for name, mask in self.failed:
            any_bad |= mask
            reasons[mask] = reasons[mask].where(reasons[mask] == "", reasons[mask] + "; ") + name
        return any_bad, reasons

    def raise_if_failed(self, error: type[_RejectedRows], what: str) -> None:
        if not self.failed:
            return
        any_bad, reasons = self.reasons()
        lines = []
        for name, mask in self.failed:
            examples = [
                f"{ticker} {_show_date(date)}"
                for ticker, date in zip(
                    self.tickers[mask][:_EXAMPLES_PER_RULE],
                    self.dates[mask][:_EXAMPLES_PER_RULE],
                    strict=True,
                )
            ]
            more = f" and {int(mask.sum()) - len(examples)} more" if mask.sum() > len(examples) else ""
            lines.append(f"  - {name} ({int(mask.sum())} rows): {', '.join(examples)}{more}")
        rows = self.frame[any_bad].assign(reason=reasons[any_bad])
        message = (
            f"invalid {what}: {int(any_bad.sum())} of {len(self.frame)} rows break "
            f"{len(self.failed)} rule(s):\n" + "\n".join(lines)
        )
        raise error(message, rows=rows, rules=tuple(name for name, _ in self.failed))


def _show_date(value) -> str:
    if isinstance(value, pd.Timestamp) and not pd.isna(value):
        return str(value.date())
    return repr(value)


def _require_columns(frame: pd.DataFrame, required, error: type[_RejectedRows], what: str) -> None:
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise error(
            f"{what} frame is missing columns {missing}; it has {list(frame.columns)}",
            rows=frame.iloc[0:0],
            rules=("missing columns",),
        )


def _date_column(frame: pd.DataFrame, names: tuple[str, ...], error, what: str) -> str:
    for name in names:
        if name in frame.columns:
            return name
    raise error(
        f"{what} frame needs a date column named one of {list(names)}; it has {list(frame.columns)}",
        rows=frame.iloc[0:0],
        rules=("missing columns",),
    )


def _normalized_tickers(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Validate each distinct value once (files repeat a ticker on every row)."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=False)
    cleaned: list[str | None] = []
    for value in uniques:
        try:
            cleaned.append(validate_ticker(value))
        except InvalidTicker:
            cleaned.append(None)
    mapped = pd.Series(np.asarray(cleaned, dtype=object)[codes], index=raw.index, dtype=object)
    return mapped, mapped.isna().to_numpy()


def _parsed_sessions(raw: pd.Series, checks: _Checks, error, what: str) -> tuple[pd.Series, np.ndarray]:
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        raise error(
            f"{what}: the session column holds timezone-aware timestamps ({raw.dtype}); pass the "
            "session's calendar date, tz-naive (e.g. index.tz_localize(None) for exchange-local "
            "midnights)",
            rows=checks.frame,
            rules=("session has a timezone",),
        )
    parsed = pd.to_datetime(raw, errors="coerce").dt.normalize()
    not_a_date = parsed.isna().to_numpy()
    checks.rule("session is not a date", not_a_date)
    sessions = parsed[~not_a_date]
    first, last = trading_calendar.calendar_window()
    outside = np.zeros(len(raw), dtype=bool)
    outside[~not_a_date] = ~sessions.between(first, last).to_numpy()
    checks.rule(trading_calendar.window_text(), outside)
    not_session = np.zeros(len(raw), dtype=bool)
    not_session[~not_a_date] = ~trading_calendar.is_session(sessions).to_numpy()
    not_session &= ~outside
    checks.rule(f"not an {trading_calendar.EXCHANGE} session", not_session)
    return parsed, ~(not_a_date | not_session | outside)


def _event_timestamps(sessions: pd.Series, valid: np.ndarray) -> pd.Series:
    stamps = pd.Series(pd.NaT, index=sessions.index, dtype="datetime64[ns, UTC]")
    if valid.any():
        stamps[valid] = trading_calendar.session_close(sessions[valid]).as_unit("ns")
    return stamps


def _known_at_utc(known_at: pd.Timestamp | None) -> pd.Timestamp | None:
    if known_at is None:
        return None
    stamp = pd.Timestamp(known_at)
    if stamp.tzinfo is None:
        raise ValueError(f"known_at={known_at!r} has no timezone; pass a UTC-aware timestamp")
    return stamp.tz_convert("UTC")


def normalize_bars(frame: pd.DataFrame, known_at: pd.Timestamp | None = None) -> pd.DataFrame:
    """Canonical raw bars from a frame of ticker, session (or date), open, high, low, close, volume.

    event_timestamp is the session close; created_timestamp is `known_at` (when a revision
    was learned) or, for a first backfill, the event_timestamp itself. Extra columns are
    dropped. Raises InvalidBars naming every broken rule.
    """
    if frame.empty:
        return empty_bars()
    checks, result = _checked_bars(frame, known_at)
    checks.raise_if_failed(InvalidBars, "bars")
    return result.sort_values(["ticker", "session"], ignore_index=True)


def split_bars(frame: pd.DataFrame, known_at: pd.Timestamp | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(canonical bars of the rows that pass every rule, the other rows + `reason`).

    The ingest stage's entry: one bad row is reported, not a reason to refuse its file.
    Missing columns still raise InvalidBars (no row could be judged).
    """
    if frame.empty:
        return empty_bars(), frame.assign(reason=pd.Series(dtype=object))
    checks, result = _checked_bars(frame, known_at)
    bad, reasons = checks.reasons()
    good = result.loc[~bad]
    return (good.sort_values(["ticker", "session"], ignore_index=True)[list(RAW_BAR_COLUMNS)],
            frame[bad].assign(reason=reasons[bad]))


def _checked_bars(frame: pd.DataFrame, known_at: pd.Timestamp | None) -> tuple[_Checks, pd.DataFrame]:
    """The rules a bar must satisfy, and the canonical frame (in input order) of every row."""
    session_column = _date_column(frame, ("session", "date"), InvalidBars, "bars")
    _require_columns(frame, ("ticker", *PRICE_COLUMNS, "volume"), InvalidBars, "bars")
    tickers, bad_ticker = _normalized_tickers(frame["ticker"])
    checks = _Checks(frame, frame["ticker"], frame[session_column])
    checks.rule("invalid ticker", bad_ticker)
    sessions, good_session = _parsed_sessions(frame[session_column], checks, InvalidBars, "bars")
    checks.dates = sessions.where(sessions.notna(), frame[session_column])

    numbers = frame[[*PRICE_COLUMNS, "volume"]].apply(pd.to_numeric, errors="coerce").astype(float)
    finite = np.isfinite(numbers).all(axis=1).to_numpy()
    checks.rule("missing or non-numeric price or volume", ~finite)
    # The remaining rules judge only rows whose numbers exist, so each row gets its real reason.
    o, h, low, c, v = (numbers[column].to_numpy() for column in (*PRICE_COLUMNS, "volume"))
    checks.rule("non-positive price", finite & (numbers[list(PRICE_COLUMNS)] <= 0).any(axis=1).to_numpy())
    checks.rule(f"implausible price (above {MAX_PLAUSIBLE_PRICE:g})",
                finite & (numbers[list(PRICE_COLUMNS)] > MAX_PLAUSIBLE_PRICE).any(axis=1).to_numpy())
    checks.rule(f"implausible volume (above {MAX_PLAUSIBLE_VOLUME:g})", finite & (v > MAX_PLAUSIBLE_VOLUME))
    checks.rule("high below max(open, close)", finite & (h < np.maximum(o, c)))
    checks.rule("low above min(open, close)", finite & (low > np.minimum(o, c)))
    checks.rule("negative volume", finite & (v < 0))
    keyed = ~bad_ticker & good_session
    duplicated = np.zeros(len(frame), dtype=bool)
    duplicated[keyed] = pd.DataFrame(
        {"ticker": tickers[keyed], "session": sessions[keyed]}
    ).duplicated(keep=False).to_numpy()
    checks.rule("duplicate (ticker, session)", duplicated)

    event = _event_timestamps(sessions, good_session)
    known = _known_at_utc(known_at)
    created = event if known is None else pd.Series(known, index=frame.index).astype(event.dtype)
    checks.rule("known before its session close (created_timestamp < event_timestamp)",
                (created < event).to_numpy())

    result = pd.DataFrame(
        {
            "ticker": tickers,
            "session": sessions.astype("datetime64[ns]"),
            **{column: numbers[column] for column in (*PRICE_COLUMNS, "volume")},
            "event_timestamp": event,
            "created_timestamp": created,
        },
        index=frame.index,
    )
    return checks, result[list(RAW_BAR_COLUMNS)]


def normalize_actions(frame: pd.DataFrame, known_at: pd.Timestamp | None = None) -> pd.DataFrame:
    """Canonical corporate actions from a frame of ticker, ex_date (or session/date), kind, value.

    A split's value is new shares per old share (4.0 for 4-for-1); a dividend's is cash per
    share. created_timestamp is `known_at` or the ex_date close. Raises InvalidActions.
    """
    if frame.empty:
        return empty_actions()
    date_column = _date_column(frame, ("ex_date", "session", "date"), InvalidActions, "actions")
    _require_columns(frame, ("ticker", "kind", "value"), InvalidActions, "actions")
    tickers, bad_ticker = _normalized_tickers(frame["ticker"])
    checks = _Checks(frame, frame["ticker"], frame[date_column])
    checks.rule("invalid ticker", bad_ticker)
    sessions, good_session = _parsed_sessions(frame[date_column], checks, InvalidActions, "actions")
    checks.dates = sessions.where(sessions.notna(), frame[date_column])

    kinds = frame["kind"].astype(str).str.strip().str.lower()
    checks.rule(f"kind is not one of {list(ACTION_KINDS)}", ~kinds.isin(ACTION_KINDS).to_numpy())
    values = pd.to_numeric(frame["value"], errors="coerce").astype(float).to_numpy()
    checks.rule("value is not a positive number", ~(np.isfinite(values) & (values > 0)))
    checks.rule("split ratio of 1 (not a split)", (kinds == SPLIT).to_numpy() & (values == 1.0))
    keyed = ~bad_ticker & good_session
    duplicated = np.zeros(len(frame), dtype=bool)
    duplicated[keyed] = pd.DataFrame(
        {"ticker": tickers[keyed], "ex_date": sessions[keyed], "kind": kinds[keyed]}
    ).duplicated(keep=False).to_numpy()
    checks.rule("duplicate (ticker, ex_date, kind)", duplicated)
    checks.raise_if_failed(InvalidActions, "corporate actions")

    event = _event_timestamps(sessions, good_session)
    known = _known_at_utc(known_at)
    created = event if known is None else pd.Series(known, index=frame.index).astype(event.dtype)
    result = pd.DataFrame(
        {
            "ticker": tickers,
            "ex_date": sessions.astype("datetime64[ns]"),
            "kind": kinds.astype(object),
            "value": values,
            "event_timestamp": event,
            "created_timestamp": created,
        },
        index=frame.index,
    )
    return result.sort_values(["ticker", "ex_date", "kind"], ignore_index=True)[list(ACTION_COLUMNS)]
