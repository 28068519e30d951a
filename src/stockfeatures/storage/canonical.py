"""One output shape for every read, whichever store answered.

Reads go through `canonical()` so a backtest gets identical dtypes from PostgreSQL and parquet:
timestamps datetime64[ns, UTC], dates tz-naive datetime64[ns], values float64, missing text None.
"""

from __future__ import annotations

import json

import pandas as pd

from stockfeatures.storage.tables import EVENT, TableSchema

QUARANTINE_COLUMNS = ("stage", "ticker", EVENT, "reason", "payload")


def _utc(series: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(series, utc=True, format="ISO8601")
    return stamps.astype("datetime64[ns, UTC]")


def canonical(frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Columns in table order with contract dtypes; missing (new) feature columns become NaN."""
    out = frame.reindex(columns=list(schema.columns)).reset_index(drop=True)
    for column in schema.columns:
        if column in schema.timestamps:
            out[column] = _utc(out[column])
        elif column in schema.dates:
            out[column] = pd.to_datetime(out[column]).astype("datetime64[ns]")
        elif column in schema.texts:
            out[column] = out[column].astype("object").where(out[column].notna(), None)
        else:
            out[column] = pd.to_numeric(out[column]).astype("float64")
    return out


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
