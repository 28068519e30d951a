"""IntradayGrid: 5-minute bars laid out on the session clock so each feature is array math.

Rows of every wide array are the clock's slots, session after session (78 rows for a full
day, 42 for a 13:00 close, every XNYS session from the first bar's to the last bar's, even
one no ticker traded), columns are tickers. A missing bar is a NaN cell, never a shifted
neighbour, so "k slots earlier in the same session" is k rows up, provided the row's slot
number is at least k. All windows are taken as explicit slices (sliding_window_view), never
as running sums, so a value depends only on the bars inside its window: the incremental
computation over a short history gives exactly the bits of the full one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from stockfeatures import trading_calendar
from stockfeatures.intraday import session_clock
from stockfeatures.intraday.spec import BAR_LENGTH

REQUIRED_COLUMNS: tuple[str, ...] = (
    "ticker", "open", "high", "low", "close", "volume", "event_timestamp", "created_timestamp",
)
NO_TIME = np.iinfo("int64").min  # an absent bar's knowledge time: below every real instant


class InvalidIntradayFrame(ValueError):
    """Bars that cannot be laid on the clock; the message names the rows to fix."""


def _check(bars: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in bars.columns]
    if missing:
        raise InvalidIntradayFrame(f"intraday bars lack column(s) {missing}; expected {list(REQUIRED_COLUMNS)}")
    for column in ("event_timestamp", "created_timestamp"):
        if not isinstance(bars[column].dtype, pd.DatetimeTZDtype) or bars[column].isna().any():
            raise InvalidIntradayFrame(f"column {column} must be complete tz-aware timestamps, got {bars[column].dtype}")
    duplicated = bars.duplicated(["ticker", "event_timestamp"], keep=False)
    if duplicated.any():
        shown = bars.loc[duplicated, ["ticker", "event_timestamp"]].head(3).to_dict("records")
        raise InvalidIntradayFrame(
            f"one row per (ticker, event_timestamp) expected (the latest version of each bar); duplicates: {shown}"
        )


@dataclass(frozen=True, eq=False)
class IntradayGrid:
    """Bars sorted by (ticker, event_timestamp) plus their cell in the [slot x ticker] arrays.

    sessions: every session of the clock span; session_starts[i]: its first row;
    row_session / row_slot: per grid row, its session position and slot number.
    """

    rows: pd.DataFrame
    tickers: np.ndarray
    ticker_codes: np.ndarray
    cell_rows: np.ndarray
    sessions: pd.DatetimeIndex
    session_starts: np.ndarray
    row_session: np.ndarray
    row_slot: np.ndarray
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def from_bars(cls, bars: pd.DataFrame) -> IntradayGrid:
        _check(bars)
        ordered = bars.sort_values(["ticker", "event_timestamp"], kind="stable", ignore_index=True)
        clock = session_clock.locate_slots(ordered["event_timestamp"] - BAR_LENGTH)
        off_clock = clock.problem.notna().to_numpy()
        if off_clock.any():
            first = ordered.loc[off_clock].iloc[0]
            raise InvalidIntradayFrame(
                f"{int(off_clock.sum())} bar(s) are not on a 5-minute slot of a regular session, e.g. "
                f"{first['ticker']} ending {first['event_timestamp']}: {clock.problem[off_clock].iloc[0]}"
            )
        if len(ordered):
            sessions = trading_calendar.sessions_between(clock.session.min(), clock.session.max())
        else:
            sessions = pd.DatetimeIndex([])
        counts = np.array([session_clock.slot_count(s) for s in sessions], dtype="int64")
        starts = np.r_[0, np.cumsum(counts)[:-1]] if len(counts) else np.zeros(0, dtype="int64")
        row_session = np.repeat(np.arange(len(sessions)), counts)
        row_slot = np.arange(int(counts.sum())) - np.repeat(starts, counts)
        codes, tickers = pd.factorize(ordered["ticker"].astype(str), sort=True)
        cell_rows = starts[sessions.get_indexer(clock.session)] + clock.slot if len(ordered) else np.zeros(0, int)
        return cls(ordered, np.asarray(tickers, dtype=object), codes, cell_rows.astype("int64"),
                   pd.DatetimeIndex(sessions), starts, row_session, row_slot)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.row_slot), len(self.tickers)

    def wide(self, column: str) -> np.ndarray:
        """A float column as [slot x ticker], NaN where no bar; cached (close is reused)."""
        if column not in self._cache:
            grid = np.full(self.shape, np.nan)
            grid[self.cell_rows, self.ticker_codes] = self.rows[column].to_numpy(dtype="float64")
            self._cache[column] = grid
        return self._cache[column]

    def wide_instants(self, column: str) -> np.ndarray:
        """A timestamp column as int64 UTC nanoseconds [slot x ticker], NO_TIME where no bar."""
        grid = np.full(self.shape, NO_TIME, dtype="int64")
        grid[self.cell_rows, self.ticker_codes] = self.rows[column].dt.tz_convert("UTC").dt.as_unit("ns").array.asi8
        return grid

    def to_rows(self, wide: np.ndarray, name: str | None = None) -> pd.Series:
        values = np.asarray(wide, dtype="float64")[self.cell_rows, self.ticker_codes]
        return pd.Series(values, index=self.rows.index, name=name, dtype="float64")

    def lag(self, wide: np.ndarray, slots: int) -> np.ndarray:
        """The value `slots` earlier in the same session (NaN before the open)."""
        lagged = np.full_like(wide, np.nan, dtype="float64")
        if slots < len(wide):
            lagged[slots:] = wide[: len(wide) - slots]
        lagged[self.row_slot < slots] = np.nan
        return lagged

    def window(self, wide: np.ndarray, slots: int, reduce: Callable[..., np.ndarray]) -> np.ndarray:
        """reduce(axis=-1) over the last `slots` slots of the same session (NaN if fewer)."""
        out = np.full(wide.shape, np.nan)
        if slots <= len(wide):
            out[slots - 1:] = reduce(sliding_window_view(wide, slots, axis=0), axis=-1)
        out[self.row_slot < slots - 1] = np.nan
        return out

    def session_to_date(self, wide: np.ndarray, accumulate: str) -> np.ndarray:
        """Running 'cumsum' or 'cummax' from the open up to each slot, session by session."""
        frame = pd.DataFrame(wide, copy=False).groupby(self.row_session, sort=False)
        return getattr(frame, accumulate)().to_numpy()

    def at_open(self, wide: np.ndarray) -> np.ndarray:
        """The session's first-slot value on every row of that session."""
        return wide[self.session_starts[self.row_session]]

    @cached_property
    def _slot_rows(self) -> list[np.ndarray]:
        """Per slot number k: grid rows of the sessions that have slot k, oldest first."""
        return [np.flatnonzero(self.row_slot == k) for k in range(int(self.row_slot.max(initial=-1)) + 1)]

    def previous_same_slot(self, wide: np.ndarray, sessions: int,
                           reduce: Callable[..., np.ndarray], fill) -> np.ndarray:
        """reduce(axis=-1) over the same slot of the `sessions` earlier sessions that have it.

        `fill` where fewer such sessions lie in the grid. A 13:00 close has no 13:00-16:00
        slots, so for those slots it is skipped rather than counted as missing.
        """
        out = np.full(wide.shape, fill, dtype=np.result_type(wide.dtype, np.asarray(fill).dtype))
        for rows in self._slot_rows:
            if len(rows) > sessions:
                windows = sliding_window_view(wide[rows[:-1]], sessions, axis=0)
                out[rows[sessions:]] = reduce(windows, axis=-1)
        return out

