"""5-minute bars from one CSV file (format: docs/csv-format.md, "Intraday bars").

Columns, exactly: ticker, bar_start, open, high, low, close, volume. bar_start is the
slot's START as an ISO 8601 instant with its zone (2024-11-29T09:30:00-05:00 or
...T14:30:00Z). A timestamp without a zone refuses the whole file, naming its lines: the
same wall-clock time means different instants in New York and UTC, and guessing would
shift every bar. Any other bad row is rejected with its line and reason, and every row
ends in one place: a bar, `rejected`, `outside_window`, `not_requested` or `not_ended`
(a bar that ends after the fetch's `as_of`), as in the daily CSV source.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from stockfeatures.intraday import session_clock
from stockfeatures.intraday.normalize import split_intraday_bars
from stockfeatures.intraday.source import IntradayBatch, fetch_instant
from stockfeatures.intraday.spec import BAR_LENGTH
from stockfeatures.prices.csv_source import InvalidCsv, line_list, read_csv_rows, safe_text
from stockfeatures.prices.tickers import UnknownTicker, ticker_problem, validate_tickers

NAME = "csv"
COLUMNS: tuple[str, ...] = ("ticker", "bar_start", "open", "high", "low", "close", "volume")
_ZONE = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)


def _instants(path: Path, text: pd.DataFrame) -> pd.Series:
    """bar_start as UTC instants (NaT where unreadable); raises InvalidCsv for naive ones."""
    cells = text["bar_start"]
    parsed = pd.to_datetime(cells, utc=True, format="ISO8601", errors="coerce")
    naive = parsed.notna() & ~cells.str.contains(_ZONE)
    if naive.any():
        raise InvalidCsv(
            f"{path}: {line_list(text.loc[naive, 'line'])}: bar_start {cells[naive].iloc[0]!r} has no "
            "timezone; write the instant with its offset (2024-11-29T09:30:00-05:00) or in UTC "
            "(2024-11-29T14:30:00Z)"
        )
    return parsed.astype("datetime64[ns, UTC]")


class IntradayCsvSource:
    """Intraday bars of any number of tickers from one CSV file.

    known_at: when the file's bars became known (a late correction); default: each bar's end.
    """

    name = NAME

    def __init__(self, path: str | Path, known_at: pd.Timestamp | None = None) -> None:
        self.path = Path(path)
        self.known_at = known_at

    def fetch(self, tickers: Sequence[str] | None, start=None, end=None, as_of=None) -> IntradayBatch:
        """Rows of `tickers` (None: all) in sessions start..end (None: open-ended) ended by as_of."""
        now = fetch_instant(as_of)
        first = pd.Timestamp(start).normalize() if start is not None else None
        last = pd.Timestamp(end).normalize() if end is not None else None
        if first is not None and last is not None and last < first:
            raise ValueError(f"end {last.date()} is before start {first.date()}")
        text, ragged = read_csv_rows(self.path, COLUMNS, ())
        reasons = pd.Series("", index=text.index, dtype=object)
        open_rows = np.ones(len(text), dtype=bool)

        def reject(mask, why) -> None:
            mask = np.asarray(mask, dtype=bool) & open_rows
            words = why[mask] if isinstance(why, pd.Series) else why
            reasons[mask] = reasons[mask].where(reasons[mask] == "", reasons[mask] + "; ") + words

        def count_out(mask) -> int:
            mask = np.asarray(mask, dtype=bool) & open_rows & (reasons == "").to_numpy()
            open_rows[mask] = False
            return int(mask.sum())

        problems = text["ticker"].map({t: ticker_problem(t) for t in text["ticker"].unique()})
        reject(problems.notna(), problems)
        clean = text["ticker"].where(problems.notna(), text["ticker"].str.upper())
        not_requested = 0
        if tickers is not None:
            wanted = validate_tickers(tickers)
            unknown = [t for t in wanted if t not in set(clean)]
            if unknown:
                raise UnknownTicker(f"{self.path} has no rows for tickers {unknown}")
            not_requested = count_out(~clean.isin(wanted))
        starts = _instants(self.path, text)
        reject(starts.isna(), "column 'bar_start' is not an ISO 8601 instant")
        sessions = starts.dt.tz_convert(session_clock.NEW_YORK).dt.tz_localize(None).dt.normalize()
        outside = (sessions < first if first is not None else False) | (sessions > last if last is not None else False)
        outside_window = count_out(np.asarray(outside, dtype=bool) & starts.notna().to_numpy())
        # Only a bar on the clock can be "not yet ended"; an off-slot row is rejected for that.
        on_clock = session_clock.locate_slots(starts).problem.isna().to_numpy()
        not_ended = count_out(on_clock & ~session_clock.has_ended(starts.fillna(now) + BAR_LENGTH, now))

        candidates = (reasons == "").to_numpy() & open_rows
        frame = text.loc[candidates, ["ticker", *COLUMNS[2:]]].assign(ticker=clean[candidates],
                                                                       bar_start=starts[candidates])
        bars, bad = split_intraday_bars(frame, known_at=self.known_at, source=NAME)
        reject(text.index.isin(bad.index), bad["reason"].reindex(text.index))
        return IntradayBatch(bars=bars, rejected=self._rejected(text, clean, sessions, reasons, ragged),
                             outside_window=outside_window, not_requested=not_requested, not_ended=not_ended)

    def _rejected(self, text: pd.DataFrame, tickers: pd.Series, sessions: pd.Series,
                  reasons: pd.Series, ragged: pd.DataFrame) -> pd.DataFrame:
        """Rejected rows as the file had them (safe to store) + ticker, session, reason."""
        bad = (reasons != "").to_numpy()
        out = text[bad].apply(lambda column: column.map(safe_text) if column.dtype == object else column)
        out = out.assign(ticker=tickers[bad].map(safe_text), session=sessions[bad],
                         reason=[f"{self.path.name} line {n}: {r}"
                                 for n, r in zip(text.loc[bad, "line"], reasons[bad], strict=True)])
        if len(ragged):
            ragged = ragged.assign(reason=[f"{self.path.name} line {n}: {r}"
                                           for n, r in zip(ragged["line"], ragged["reason"], strict=True)])
            out = pd.concat([out, ragged], ignore_index=True)
        return out.reset_index(drop=True)
