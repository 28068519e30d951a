"""PricePanel: adjusted bars laid out so every feature is a whole-array operation.

Each column becomes a wide array [observation number x ticker], where observation k of a
ticker is its k-th own bar in session order. Windows therefore count the ticker's observed
bars: a halted session is simply absent (nothing forward-filled, no row invented), tickers
of different lengths share one array (padded with NaN after their last bar), and a rolling
window along axis 0 runs over all tickers at once. `to_rows` maps a wide result back to the
panel's rows (sorted by ticker, session).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

REQUIRED_COLUMNS: tuple[str, ...] = (
    "ticker", "session", "open", "high", "low", "close", "volume",
    "raw_close", "raw_volume", "event_timestamp", "created_timestamp",
)
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "raw_close")
VOLUME_COLUMNS: tuple[str, ...] = ("volume", "raw_volume")
TIMESTAMP_COLUMNS: tuple[str, ...] = ("event_timestamp", "created_timestamp")
_SHOWN = 5


class InvalidBars(ValueError):
    """Adjusted bars cannot be turned into features; the message names columns and rows to fix."""


class InvalidPrices(InvalidBars):
    """A price is missing, zero or negative (or a volume is missing or negative)."""


class DuplicateBars(InvalidBars):
    """More than one row for the same (ticker, session): the frame must hold one version per bar."""


def _describe_rows(frame: pd.DataFrame) -> str:
    shown = ", ".join(
        f"{ticker} {pd.Timestamp(session).date()}"
        for ticker, session in zip(frame["ticker"][:_SHOWN], frame["session"][:_SHOWN], strict=True)
    )
    more = f" ... ({len(frame)} rows)" if len(frame) > _SHOWN else ""
    return shown + more


def validate_bars(bars: pd.DataFrame) -> None:
    """Reject frames that would silently give wrong features, naming what to fix."""
    validate_columns(bars)
    reject_duplicates(bars, bars.duplicated(["ticker", "session"], keep=False).to_numpy())


def validate_columns(bars: pd.DataFrame) -> None:
    """Every check of `validate_bars` but the duplicate one, which PricePanel.from_bars runs on
    the integer codes it builds anyway (a hash of 12.5 M (ticker, session) pairs took 2.8 s)."""
    missing = [c for c in REQUIRED_COLUMNS if c not in bars.columns]
    if missing:
        raise InvalidBars(
            f"adjusted bars lack column(s) {', '.join(missing)}; expected {', '.join(REQUIRED_COLUMNS)}"
        )
    if bars["ticker"].isna().any():
        raise InvalidBars(f"column ticker is missing on {int(bars['ticker'].isna().sum())} row(s)")
    for column in TIMESTAMP_COLUMNS:
        dtype = bars[column].dtype
        if not isinstance(dtype, pd.DatetimeTZDtype):
            raise InvalidBars(
                f"column {column} must be timezone-aware UTC timestamps, got dtype {dtype}; "
                f"localize it (e.g. .dt.tz_localize('UTC')) before computing features"
            )
        if bars[column].isna().any():
            raise InvalidBars(f"column {column} has missing timestamps: {_describe_rows(bars[bars[column].isna()])}")
    session_dtype = bars["session"].dtype
    if isinstance(session_dtype, pd.DatetimeTZDtype) or not pd.api.types.is_datetime64_dtype(session_dtype):
        raise InvalidBars(f"column session must be tz-naive session dates (datetime64[ns]), got {session_dtype}")
    for column in PRICE_COLUMNS:
        values = pd.to_numeric(bars[column], errors="coerce").to_numpy(dtype="float64")
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            raise InvalidPrices(
                f"column {column} must hold positive prices; non-positive or missing at "
                f"{_describe_rows(bars[bad])}"
            )
    for column in VOLUME_COLUMNS:
        values = pd.to_numeric(bars[column], errors="coerce").to_numpy(dtype="float64")
        bad = ~(np.isfinite(values) & (values >= 0))
        if bad.any():
            raise InvalidPrices(
                f"column {column} must hold volumes >= 0; negative or missing at {_describe_rows(bars[bad])}"
            )


def reject_duplicates(bars: pd.DataFrame, duplicated: np.ndarray) -> None:
    """Raise DuplicateBars naming the rows of `bars` that `duplicated` marks (all copies)."""
    if duplicated.any():
        raise DuplicateBars(
            "one row per (ticker, session) expected (the latest known version of each bar); "
            f"duplicates at {_describe_rows(bars[duplicated].sort_values(['ticker', 'session']))}"
        )


def _pair_keys(ticker_codes: np.ndarray, session_codes: np.ndarray, n_sessions: int) -> np.ndarray:
    """One int64 per row that sorts like (ticker, session)."""
    return ticker_codes.astype("int64") * max(n_sessions, 1) + session_codes


def _ticker_session_order(ticker_codes: np.ndarray, session_codes: np.ndarray,
                          n_sessions: int) -> np.ndarray:
    """The permutation np.lexsort((session_codes, ticker_codes)) gives, as one stable sort of
    a combined key: timsort finishes bars already in order (adjust_bars' output) in one pass,
    where lexsort's two merge sorts took 1.9 s at 12.5 M bars."""
    if (session_codes < 0).any():  # NaT session: no key; lexsort's order, as before
        return np.lexsort((session_codes, ticker_codes))
    return np.argsort(_pair_keys(ticker_codes, session_codes, n_sessions), kind="stable")


def _duplicated(ticker_codes: np.ndarray, session_codes: np.ndarray, n_sessions: int,
                order: np.ndarray) -> np.ndarray:
    """DataFrame.duplicated(["ticker", "session"], keep=False) from the factorized codes: in
    (ticker, session) order a repeated pair sits next to its twin."""
    if (session_codes < 0).any():  # NaT sessions pair with each other, as pandas pairs them
        keys = pd.Series(_pair_keys(ticker_codes, np.where(session_codes < 0, n_sessions, session_codes),
                                    n_sessions + 1))
        return keys.duplicated(keep=False).to_numpy()
    ordered = _pair_keys(ticker_codes, session_codes, n_sessions)[order]
    repeated = ordered[1:] == ordered[:-1]
    duplicated = np.zeros(len(order), dtype=bool)
    duplicated[order[1:][repeated]] = True
    duplicated[order[:-1][repeated]] = True
    return duplicated


@dataclass(frozen=True, eq=False)
class PricePanel:
    """Validated bars sorted by (ticker, session) plus the index maps into wide arrays.

    rows: the bars, sorted, with a fresh RangeIndex; every feature Series uses that index.
    ticker_codes/observation: for each row, its column and row in the wide arrays.
    session_codes: for each row, the position of its session in `sessions`.
    benchmark: the ticker beta is measured against.
    usable: per row, may its values feed another row's cross-sectional feature (beta_60d's
    benchmark returns, mom_12_1_rank's cross-section)? None = every row. Rows that failed
    validation are marked unusable so nothing stored is computed from quarantined rows.
    """

    rows: pd.DataFrame
    tickers: np.ndarray
    ticker_codes: np.ndarray
    observation: np.ndarray
    sessions: pd.DatetimeIndex
    session_codes: np.ndarray
    benchmark: str
    usable: np.ndarray | None = None
    _wide_cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def from_bars(cls, bars: pd.DataFrame, benchmark: str = "SPY", *, validate: bool = True) -> PricePanel:
        if validate:
            validate_columns(bars)
        ticker_codes, tickers = pd.factorize(bars["ticker"].astype(str), sort=True)
        session_codes, sessions = pd.factorize(bars["session"], sort=True)
        order = _ticker_session_order(ticker_codes, session_codes, len(sessions))
        if validate:
            reject_duplicates(bars, _duplicated(ticker_codes, session_codes, len(sessions), order))
        # Already in (ticker, session) order, as adjust_bars returns them: share the columns
        # (nothing here writes into them) instead of copying 2.6 M bars again.
        in_order = bool((order == np.arange(len(order))).all())
        rows = bars.copy(deep=False) if in_order else bars.take(order)
        rows.index = pd.RangeIndex(len(rows))  # not reset_index: that copies every column again
        ticker_codes = ticker_codes[order]
        session_codes = session_codes[order]
        starts = np.r_[0, np.flatnonzero(np.diff(ticker_codes)) + 1] if len(rows) else np.zeros(0, int)
        lengths = np.diff(np.r_[starts, len(rows)])
        observation = np.arange(len(rows)) - np.repeat(starts, lengths)
        return cls(
            rows=rows,
            tickers=np.asarray(tickers, dtype=object),
            ticker_codes=ticker_codes,
            observation=observation,
            sessions=pd.DatetimeIndex(sessions),
            session_codes=session_codes,
            benchmark=benchmark,
        )

    def with_usable(self, usable: np.ndarray) -> PricePanel:
        """The same panel with only `usable` rows feeding cross-sectional features."""
        usable = np.asarray(usable, dtype=bool)
        if usable.shape != (len(self.rows),):
            raise ValueError(f"usable mask has shape {usable.shape}, panel has {len(self.rows)} rows")
        return replace(self, usable=usable, _wide_cache=self._wide_cache)

    @cached_property
    def usable_rows(self) -> np.ndarray:
        """`usable` as a boolean row mask (all True when not set)."""
        return np.ones(len(self.rows), dtype=bool) if self.usable is None else self.usable

    @property
    def index(self) -> pd.RangeIndex:
        return self.rows.index

    @cached_property
    def shape(self) -> tuple[int, int]:
        """(longest ticker history, number of tickers): the shape of every wide array."""
        depth = int(self.observation.max()) + 1 if len(self.rows) else 0
        return depth, len(self.tickers)

    @cached_property
    def wide_positions(self) -> np.ndarray:
        """Per row, its cell's offset in a column-major (Fortran-order) wide array."""
        return self.ticker_codes.astype("int64") * self.shape[0] + self.observation

    def to_wide(self, values: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """Lay per-row values out as [observation x ticker]; cells past a ticker's end get `fill`.

        Column-major (order="F"): a ticker's history is one contiguous run, in the rows' own
        order, so this scatter and `to_rows`' gather stream through memory; in row-major order
        each row jumped a whole row of tickers (80 kB at 10,000 tickers), a cache and TLB miss
        per value (issue 12). Every ufunc keeps the layout, and `trailing` needs it anyway."""
        values = np.asarray(values)
        flat = np.full(self.shape[0] * self.shape[1], fill,
                       dtype=values.dtype if values.dtype.kind in "iu" else "float64")
        flat[self.wide_positions] = values
        return flat.reshape(self.shape, order="F")  # a view of `flat`, never a copy

    def wide(self, column: str) -> np.ndarray:
        """A float64 column as [observation x ticker], cached because most features reuse close."""
        if column not in self._wide_cache:
            values = self.rows[column].to_numpy(dtype="float64")
            self._wide_cache[column] = self.to_wide(values)
        return self._wide_cache[column]

    def derived(self, key: str, build: Callable[[], np.ndarray]) -> np.ndarray:
        """A wide array several features compute alike (the previous close feeds seven), built
        once and cached read-only beside the columns; it must not depend on `usable`, since
        `with_usable` panels share the cache."""
        if key not in self._wide_cache:
            wide = build()
            wide.flags.writeable = False
            self._wide_cache[key] = wide
        return self._wide_cache[key]

    def to_rows(self, wide: np.ndarray, name: str | None = None) -> pd.Series:
        """Gather a wide result back into a Series aligned with `rows`."""
        values = np.asarray(wide, dtype="float64").ravel(order="F").take(self.wide_positions)
        return pd.Series(values, index=self.index, name=name, dtype="float64")

    @cached_property
    def wide_session_codes(self) -> np.ndarray:
        """Session position of each wide cell, -1 past a ticker's last bar."""
        return self.to_wide(self.session_codes.astype("int64"), fill=-1)

    def by_session(self, row_values: np.ndarray) -> np.ndarray:
        """Lay per-row values out as [session x ticker] for cross-sectional operations."""
        grid = np.full((len(self.sessions), len(self.tickers)), np.nan)
        grid[self.session_codes, self.ticker_codes] = row_values
        return grid

    def from_sessions(self, grid: np.ndarray) -> np.ndarray:
        """Per-row values picked from a [session x ticker] grid (the inverse of `by_session`)."""
        return grid[self.session_codes, self.ticker_codes]
