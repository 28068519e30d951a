"""Daily bars from one CSV file (format: docs/csv-format.md, rules: docs/data-integrity.md).

The header must match the documented columns exactly: a typo such as "Close " would
otherwise drop a column silently, so a bad header refuses the file. A bad ROW does not:
every row is either returned as a bar, returned in `PriceBatch.rejected` with its line
number and reason (the ingest stage quarantines it), or counted as outside the asked window
or not requested. pandas' C reader cuts a cell at a NUL byte ('BN\\0L' would become 'BN')
and refuses a ragged row, so such files are read with Python's csv module instead.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from stockfeatures.prices.frames import DIVIDEND, SPLIT, empty_actions
from stockfeatures.prices.normalize import normalize_actions, split_bars
from stockfeatures.prices.source import PriceBatch
from stockfeatures.prices.tickers import UnknownTicker, ticker_problem, validate_tickers

REQUIRED_COLUMNS: tuple[str, ...] = ("ticker", "date", "open", "high", "low", "close", "volume")
OPTIONAL_COLUMNS: tuple[str, ...] = ("dividend", "split")
_NUMBER_COLUMNS = ("open", "high", "low", "close", "volume")
_SHOWN = 10


class InvalidCsv(ValueError):
    """The file does not follow docs/csv-format.md; `.rows` holds offending lines if any."""

    def __init__(self, message: str, rows: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.rows = rows if rows is not None else pd.DataFrame()


def line_list(values: pd.Series) -> str:
    """'line 4' or 'lines 4, 9, ...' for messages."""
    shown = ", ".join(str(v) for v in values[:_SHOWN])
    more = f" and {len(values) - _SHOWN} more" if len(values) > _SHOWN else ""
    return ("line " if len(values) == 1 else "lines ") + shown + more


def _check_header(path: Path, header: list[str], required: tuple[str, ...] = REQUIRED_COLUMNS,
                  optional: tuple[str, ...] = OPTIONAL_COLUMNS) -> None:
    expected = f"expected columns: {', '.join(required)}" + (f" and optionally {', '.join(optional)}" if optional else "")
    known = set(required) | set(optional)
    problems = []
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        problems.append(f"repeated columns {repeated}")
    for column in header:
        if column not in known:
            close = difflib.get_close_matches(column.strip().lower(), sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"unknown column {column!r}{hint}")
    missing = [c for c in required if c not in header]
    if missing:
        problems.append(f"missing columns {missing}")
    if problems:
        raise InvalidCsv(f"{path}: line 1 (header): {'; '.join(problems)}; {expected}")


def safe_text(value: str) -> str:
    """A cell as it can be stored in a quarantine payload (PostgreSQL refuses NUL in text)."""
    return value if value.isascii() and value.isprintable() else ascii(value)[1:-1]


def _python_rows(path: Path, header: list[str]) -> tuple[list[list], list[dict]]:
    """Every row through Python's csv module: exact bytes, ragged rows kept for the quarantine."""
    good, ragged = [], []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        records = csv.reader(handle)
        next(records, None)
        for number, record in enumerate(records, start=2):
            cells = [cell.strip(" ") for cell in record]
            if not any(cells):
                continue
            if len(cells) != len(header):
                ragged.append({"line": number, "ticker": None, "text": safe_text(",".join(record)),
                               "reason": f"{len(cells)} fields, the header has {len(header)}"})
            else:
                good.append([number, *cells])
    return good, ragged


def _fast_rows(path: Path, header: list[str]) -> pd.DataFrame | None:
    """pandas' C reader (several times faster), or None when it cannot be trusted with the
    file: it cuts cells at NUL bytes and pads short rows with blanks. A quoted file is left to
    the Python path too, since counting fields by commas needs no quotes."""
    data = path.read_bytes()
    if b"\x00" in data or b'"' in data:
        return None
    commas = len(header) - 1
    if any(line.count(b",") != commas for line in data.splitlines()[1:] if line.strip(b" \r")):
        return None
    rows = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False,
                       encoding="utf-8-sig", engine="c")
    rows = rows.fillna("")
    rows.insert(0, "line", np.arange(2, len(rows) + 2))
    values = rows[header].apply(lambda column: column.str.strip(" "))
    rows[header] = values
    return rows[~values.eq("").all(axis=1)].reset_index(drop=True)


def read_csv_rows(path: Path, required: tuple[str, ...] = REQUIRED_COLUMNS,
                  optional: tuple[str, ...] = OPTIONAL_COLUMNS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(data rows as text, stripped of spaces, with `line` = line number; rows with the wrong
    field count). `required`/`optional` name the header's columns (the intraday CSV has its own)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
        if not header:
            raise InvalidCsv(f"{path}: the file is empty; the first line must be the header")
        _check_header(path, header, required, optional)
        rows = _fast_rows(path, header)
    except FileNotFoundError:
        raise FileNotFoundError(f"price CSV not found: {path}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise InvalidCsv(f"{path}: {error}") from None
    ragged: list[dict] = []
    if rows is None:
        good, ragged = _python_rows(path, header)
        rows = pd.DataFrame(good, columns=["line", *header], dtype=object)
        rows["line"] = rows["line"].astype("int64")
    for column in optional:
        if column not in rows:
            rows[column] = ""
    return rows, pd.DataFrame(ragged, columns=["line", "ticker", "text", "reason"])


def _numbers(text: pd.Series, blank: float | None = None) -> pd.Series:
    """Floats; a blank or non-numeric cell is NaN (or `blank` for an empty cell)."""
    numbers = pd.to_numeric(text, errors="coerce").astype(float)
    return numbers.where(text != "", blank) if blank is not None else numbers


class _Rows:
    """The file's rows, each ending in exactly one place: kept, rejected (every reason it has)
    or counted out (outside the window, not requested)."""

    def __init__(self, rows: pd.DataFrame) -> None:
        self.keep = np.ones(len(rows), dtype=bool)
        self.counted = np.zeros(len(rows), dtype=bool)
        self.reasons = pd.Series("", index=rows.index, dtype=object)
        self.outside_window = 0
        self.not_requested = 0

    def reject(self, mask, reason: str | pd.Series) -> None:
        mask = np.asarray(mask, dtype=bool) & ~self.counted
        text = reason[mask] if isinstance(reason, pd.Series) else reason
        self.reasons[mask] = self.reasons[mask].where(self.reasons[mask] == "", self.reasons[mask] + "; ") + text
        self.keep &= ~mask

    def count_out(self, mask) -> int:
        mask = np.asarray(mask, dtype=bool) & self.keep
        self.keep &= ~mask
        self.counted |= mask
        return int(mask.sum())


def _adjusted_check(path: Path, rows: pd.DataFrame) -> None:
    dividends, splits = _numbers(rows["dividend"], 0.0), _numbers(rows["split"], 0.0)
    actions = ((dividends != 0) | ((splits != 0) & (splits != 1))).to_numpy()
    if actions.any():
        raise InvalidCsv(
            f"{path}: {line_list(rows.loc[actions, 'line'])}: dividend/split values in a file read as "
            "already adjusted by the vendor (--adjusted): adjusting again would count them twice; "
            "remove the columns, or load raw prices without --adjusted (docs/data-integrity.md)"
        )


class CsvSource:
    """Bars and corporate actions for any number of tickers from one CSV file.

    adjusted=True reads prices already adjusted by the vendor for splits and dividends: the
    file may not carry dividend/split values (they are already in the prices), and no
    corporate actions are returned. Read docs/data-integrity.md for what that means for
    dollar_volume_20d and knowledge time.
    """

    name = "csv"

    def __init__(self, path: str | Path, known_at: pd.Timestamp | None = None, adjusted: bool = False) -> None:
        self.path = Path(path)
        self.known_at = known_at
        self.adjusted = adjusted

    def fetch(self, tickers: Sequence[str] | None, start: date | str | None = None,
              end: date | str | None = None) -> PriceBatch:
        """Rows of `tickers` (None: all) on sessions start..end (None: open-ended)."""
        first = pd.Timestamp(start) if start is not None else None
        last = pd.Timestamp(end) if end is not None else None
        if first is not None and last is not None and last < first:
            raise ValueError(f"end {last.date()} is before start {first.date()}")
        text, ragged = read_csv_rows(self.path)
        if self.adjusted:
            _adjusted_check(self.path, text)
        rows = _Rows(text)
        problems = text["ticker"].map({t: ticker_problem(t) for t in text["ticker"].unique()})
        rows.reject(problems.notna().to_numpy(), problems)
        tickers_clean = text["ticker"].where(problems.notna(), text["ticker"].str.upper())
        if tickers is not None:
            wanted = validate_tickers(tickers)
            unknown = [t for t in wanted if t not in set(tickers_clean)]
            if unknown:
                raise UnknownTicker(f"{self.path} has no rows for tickers {unknown}")
            rows.not_requested = rows.count_out(~tickers_clean.isin(wanted).to_numpy())
        dates = pd.to_datetime(text["date"], format="%Y-%m-%d", errors="coerce")
        rows.reject(dates.isna().to_numpy(), "column 'date' is not a YYYY-MM-DD date")
        outside = (dates < first if first is not None else False) | (dates > last if last is not None else False)
        rows.outside_window = rows.count_out(np.asarray(outside, dtype=bool))
        typed = pd.DataFrame({"line": text["line"], "ticker": tickers_clean, "date": dates})
        for column in _NUMBER_COLUMNS:
            typed[column] = _numbers(text[column])
            rows.reject(typed[column].isna().to_numpy(), f"column {column!r} is blank or not a number")
        for column in OPTIONAL_COLUMNS:
            typed[column] = _numbers(text[column], 0.0)
            rows.reject((~np.isfinite(typed[column]) | (typed[column] < 0)).to_numpy(),
                        f"column {column!r} is not a number >= 0")

        candidates = typed[rows.keep]
        bars, bad = split_bars(candidates.drop(columns=list(OPTIONAL_COLUMNS)))
        rows.reject(text.index.isin(bad.index), bad["reason"].reindex(text.index))
        kept = typed[rows.keep]
        actions = empty_actions() if self.adjusted else _actions(kept)
        if self.known_at is not None:
            bars, actions = _known_at(bars, self.known_at), _known_at(actions, self.known_at)
        return PriceBatch(bars=bars, actions=actions, rejected=self._rejected(text, typed, rows, ragged),
                          outside_window=rows.outside_window, not_requested=rows.not_requested)

    def _rejected(self, text: pd.DataFrame, typed: pd.DataFrame, rows: _Rows,
                  ragged: pd.DataFrame) -> pd.DataFrame:
        """Rejected rows as the file had them (text, safe to store) + ticker, session, reason."""
        bad = (rows.reasons != "").to_numpy()
        out = text[bad].apply(lambda column: column.map(safe_text) if column.dtype == object else column)
        out = out.assign(ticker=typed.loc[bad, "ticker"].map(safe_text), session=typed.loc[bad, "date"],
                         reason=[f"{self.path.name} line {n}: {r}"
                                 for n, r in zip(text.loc[bad, "line"], rows.reasons[bad], strict=True)])
        if len(ragged):
            ragged = ragged.assign(reason=[f"{self.path.name} line {n}: {r}"
                                           for n, r in zip(ragged["line"], ragged["reason"], strict=True)])
            out = pd.concat([out, ragged], ignore_index=True)
        return out.reset_index(drop=True)


def _known_at(frame: pd.DataFrame, known_at: pd.Timestamp) -> pd.DataFrame:
    """created = known_at for rows closed by then; a later row keeps its close, and the ingest
    stage refuses it as not yet closed."""
    stamp = pd.Timestamp(known_at)
    if stamp.tzinfo is None:
        raise ValueError(f"known_at={known_at!r} has no timezone; pass a UTC-aware timestamp")
    closed = frame["event_timestamp"] <= stamp
    created = frame["event_timestamp"].where(~closed, stamp.tz_convert("UTC"))
    return frame.assign(created_timestamp=created.astype("datetime64[ns, UTC]"))


def _actions(parsed: pd.DataFrame) -> pd.DataFrame:
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
    return normalize_actions(frame) if len(frame) else empty_actions()
