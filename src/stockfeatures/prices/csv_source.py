"""Daily bars from one CSV file (format: docs/csv-format.md).

The header must match the documented columns exactly: a typo such as "Close " would
otherwise drop a column silently. Format problems are reported all at once with file,
line numbers and columns; bar rules (high >= max(open, close), duplicates, ...) are then
checked by normalize_bars, whose InvalidBars is re-raised with the file's line numbers.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from stockfeatures import trading_calendar
from stockfeatures.prices.frames import DIVIDEND, SPLIT, empty_actions
from stockfeatures.prices.normalize import InvalidBars, normalize_actions, normalize_bars
from stockfeatures.prices.source import PriceBatch, check_range
from stockfeatures.prices.tickers import TICKER_PATTERN, UnknownTicker, validate_tickers

REQUIRED_COLUMNS: tuple[str, ...] = ("ticker", "date", "open", "high", "low", "close", "volume")
OPTIONAL_COLUMNS: tuple[str, ...] = ("dividend", "split")
_NUMBER_COLUMNS = ("open", "high", "low", "close", "volume")
_SHOWN = 10


class InvalidCsv(ValueError):
    """The file does not follow docs/csv-format.md; `.rows` holds offending lines if any."""

    def __init__(self, message: str, rows: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.rows = rows if rows is not None else pd.DataFrame()


def _lines(values: pd.Series) -> str:
    """'line 4' or 'lines 4, 9, ...' for messages."""
    shown = ", ".join(str(v) for v in values[:_SHOWN])
    more = f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else ""
    return ("line " if len(values) == 1 else "lines ") + shown + more


def _check_header(path: Path, header: list[str]) -> None:
    expected = f"expected columns: {', '.join(REQUIRED_COLUMNS)} and optionally {', '.join(OPTIONAL_COLUMNS)}"
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    problems = []
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        problems.append(f"repeated columns {repeated}")
    for column in header:
        if column not in known:
            close = difflib.get_close_matches(column.strip().lower(), sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"unknown column {column!r}{hint}")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        problems.append(f"missing columns {missing}")
    if problems:
        raise InvalidCsv(f"{path}: line 1 (header): {'; '.join(problems)}; {expected}")


def read_csv_rows(path: Path) -> pd.DataFrame:
    """All data rows as text, with `line` = the row's line number in the file."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except FileNotFoundError:
        raise FileNotFoundError(f"price CSV not found: {path}") from None
    if not header:
        raise InvalidCsv(f"{path}: the file is empty; the first line must be the header")
    _check_header(path, header)
    try:
        rows = pd.read_csv(
            path, dtype=str, keep_default_na=False, skip_blank_lines=False, encoding="utf-8-sig"
        )
    except pd.errors.ParserError as error:
        raise InvalidCsv(f"{path}: {error}") from None
    rows = rows.fillna("")
    rows.insert(0, "line", np.arange(2, len(rows) + 2))
    values = rows[header].apply(lambda column: column.str.strip())
    blank = values.eq("").all(axis=1)
    rows[header] = values
    return rows[~blank].reset_index(drop=True)


def _parse(path: Path, rows: pd.DataFrame) -> pd.DataFrame:
    """Typed columns; every unparseable cell is collected into one InvalidCsv."""
    problems: list[str] = []
    bad = np.zeros(len(rows), dtype=bool)

    def problem(mask: np.ndarray, column: str, what: str) -> None:
        nonlocal bad
        if mask.any():
            bad |= mask
            examples = ", ".join(repr(v) for v in rows.loc[mask, column][:3])
            problems.append(f"{_lines(rows.loc[mask, 'line'])}: column {column!r} {what} ({examples})")

    tickers = rows["ticker"].str.upper()
    problem(~tickers.str.match(TICKER_PATTERN.pattern).to_numpy(), "ticker", "is not a valid ticker")
    dates = pd.to_datetime(rows["date"], format="%Y-%m-%d", errors="coerce")
    not_date = dates.isna().to_numpy()
    problem(not_date, "date", "is not a YYYY-MM-DD date")
    not_session = np.zeros(len(rows), dtype=bool)
    not_session[~not_date] = ~trading_calendar.is_session(dates[~not_date]).to_numpy()
    problem(not_session, "date", f"is not an {trading_calendar.EXCHANGE} session")
    parsed = pd.DataFrame({"line": rows["line"], "ticker": tickers, "date": dates})
    for column in _NUMBER_COLUMNS:
        numbers = pd.to_numeric(rows[column].where(rows[column] != ""), errors="coerce")
        problem(numbers.isna().to_numpy(), column, "is blank or not a number")
        parsed[column] = numbers.astype(float)
    for column in OPTIONAL_COLUMNS:
        text = rows[column] if column in rows.columns else pd.Series("", index=rows.index)
        numbers = pd.to_numeric(text.where(text != "", "0"), errors="coerce").astype(float)
        problem((~np.isfinite(numbers) | (numbers < 0)).to_numpy(), column, "is not a number >= 0")
        parsed[column] = numbers
    if problems:
        raise InvalidCsv(
            f"{path}: {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems),
            rows=rows[bad],
        )
    return parsed


def _actions(parsed: pd.DataFrame, known_at: pd.Timestamp | None) -> pd.DataFrame:
    dividends = parsed[parsed["dividend"] > 0]
    splits = parsed[(parsed["split"] > 0) & (parsed["split"] != 1)]
    frame = pd.concat(
        [
            pd.DataFrame({"ticker": dividends["ticker"], "ex_date": dividends["date"],
                          "kind": DIVIDEND, "value": dividends["dividend"]}),
            pd.DataFrame({"ticker": splits["ticker"], "ex_date": splits["date"],
                          "kind": SPLIT, "value": splits["split"]}),
        ],
        ignore_index=True,
    )
    return normalize_actions(frame, known_at) if len(frame) else empty_actions()


class CsvSource:
    """Bars and corporate actions for any number of tickers from one CSV file."""

    name = "csv"

    def __init__(self, path: str | Path, known_at: pd.Timestamp | None = None) -> None:
        self.path = Path(path)
        self.known_at = known_at

    def fetch(
        self, tickers: Sequence[str] | None, start: date | str, end: date | str
    ) -> PriceBatch:
        first, last = check_range(start, end)
        parsed = _parse(self.path, read_csv_rows(self.path))
        if tickers is not None:
            wanted = validate_tickers(tickers)
            unknown = [t for t in wanted if t not in set(parsed["ticker"])]
            if unknown:
                raise UnknownTicker(f"{self.path} has no rows for tickers {unknown}")
            parsed = parsed[parsed["ticker"].isin(wanted)]
        parsed = parsed[(parsed["date"] >= first) & (parsed["date"] <= last)]
        try:
            bars = normalize_bars(parsed.drop(columns=list(OPTIONAL_COLUMNS)), known_at=self.known_at)
        except InvalidBars as error:
            raise InvalidBars(
                f"{self.path}: {_lines(error.rows['line'])}: {error}",
                rows=error.rows, rules=error.rules,
            ) from error
        return PriceBatch(bars=bars, actions=_actions(parsed, self.known_at))
