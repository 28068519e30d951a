"""One output shape for every read, whichever store answered.

Reads go through `canonical()` so a backtest gets identical dtypes from PostgreSQL and parquet:
timestamps datetime64[ns, UTC], dates tz-naive datetime64[ns], values float64, missing text None.
"""

from __future__ import annotations

import json

import pandas as pd

from stockfeatures.storage.tables import EVENT, TableSchema

QUARANTINE_COLUMNS = ("stage", "ticker", EVENT, "reason", "payload")


_UTC_NS = pd.DatetimeTZDtype("ns", "UTC")


def _utc(series: pd.Series) -> pd.Series:
    if series.dtype == _UTC_NS:
        return series
    stamps = pd.to_datetime(series, utc=True, format="ISO8601")
    return stamps.astype("datetime64[ns, UTC]")


def _date(series: pd.Series) -> pd.Series:
    if series.dtype == "datetime64[ns]":
        return series
    return pd.to_datetime(series).astype("datetime64[ns]")


def _float(series: pd.Series) -> pd.Series:
    if series.dtype == "float64":
        return series
    return pd.to_numeric(series).astype("float64")


def canonical(frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Columns in table order with contract dtypes; missing (new) feature columns become NaN.

    Columns already in their contract dtype are kept as they are; the frame is built once
    from the converted columns (a push reads back one row, a backtest millions)."""
    frame = frame.reset_index(drop=True)
    columns: dict[str, pd.Series] = {}
    for column in schema.columns:
        series = frame[column] if column in frame.columns else pd.Series(
            float("nan"), index=frame.index, dtype="float64")
        if column in schema.timestamps:
            columns[column] = _utc(series)
        elif column in schema.dates:
            columns[column] = _date(series)
        elif column in schema.texts:
            columns[column] = series.astype("object").where(series.notna(), None)
        else:
            columns[column] = _float(series)
    return pd.DataFrame(columns, index=frame.index)


def quarantine_records(stage: str, rows: pd.DataFrame, reason: str | pd.Series) -> pd.DataFrame:
    """One record per rejected row; the whole row is kept as JSON so nothing is lost."""
    rows = rows.reset_index(drop=True)
    payload_text = rows.to_json(orient="records", date_format="iso", date_unit="us")
    payloads = [json.dumps(record, sort_keys=True) for record in json.loads(payload_text)]
    reasons = (
        pd.Series(reason).reset_index(drop=True).astype(str)
        if isinstance(reason, pd.Series)
        else pd.Series([str(reason)] * len(rows), dtype="object")
    )
    if len(reasons) != len(rows):
        raise ValueError(f"got {len(reasons)} reasons for {len(rows)} quarantined rows")
    ticker = rows["ticker"] if "ticker" in rows else pd.Series([None] * len(rows))
    event = rows[EVENT] if EVENT in rows else pd.Series([pd.NaT] * len(rows))
    event = pd.to_datetime(event, utc=True, errors="coerce")
    return pd.DataFrame(
        {
            "stage": stage,
            "ticker": ticker.astype("object").where(ticker.notna(), None),
            EVENT: event.astype("datetime64[ns, UTC]"),
            "reason": reasons.to_numpy(),
            "payload": payloads,
        }
    )
