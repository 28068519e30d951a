"""When ingested rows became known: the ingest stage's knowledge-time rules, in one place.

- A bar (or corporate action) seen for the first time keeps created = its event_timestamp
  (the session close): a first backfill is history as it was at the close.
- A bar already stored is stamped with `known_at` (default: now; `--known-at` to back-load
  a vendor's history with its real knowledge times): if it differs from the stored version
  it is a restatement learned at that time; if not, the warehouse skips it as unchanged.
- A bar whose session had not closed at `known_at` is refused (not stored as provisional):
  nothing may be visible before its close, and the final bar arrives with the next run.
"""

from __future__ import annotations

import pandas as pd

BAR_KEY = ["ticker", "session"]
ACTION_KEY = ["ticker", "ex_date", "kind"]
_UTC = "datetime64[ns, UTC]"


def utc_known_at(known_at: pd.Timestamp | str | None) -> pd.Timestamp:
    """`known_at` as a UTC timestamp (None: now); a naive value is refused, not guessed."""
    if known_at is None:
        return pd.Timestamp.now(tz="UTC")
    stamp = pd.Timestamp(known_at)
    if stamp.tzinfo is None:
        raise ValueError(f"known_at={known_at!r} has no timezone; pass e.g. 2025-07-01T20:30:00+00:00")
    return stamp.tz_convert("UTC")


def drop_unclosed(rows: pd.DataFrame, known_at: pd.Timestamp,
                  key: tuple[str, ...] = ("ticker", "session")) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows whose event_timestamp is at or before known_at, the key columns of the others).

    A NaT event_timestamp is kept, so the raw gate rejects it with its reason.
    """
    if rows.empty:
        return rows, rows.loc[:, list(key)]
    open_row = (rows["event_timestamp"] > pd.Timestamp(known_at)).fillna(False).to_numpy(dtype=bool)
    return rows[~open_row].reset_index(drop=True), rows.loc[open_row, list(key)].reset_index(drop=True)


def stamp_knowledge_time(rows: pd.DataFrame, stored: pd.DataFrame, key: list[str],
                         known_at: pd.Timestamp) -> pd.DataFrame:
    """created_timestamp = event_timestamp for keys not in `stored`, known_at for the others."""
    if rows.empty:
        return rows
    seen = stored[key].drop_duplicates() if len(stored) else pd.DataFrame(columns=key)
    if len(seen):
        for column in key:
            seen[column] = seen[column].astype(rows[column].dtype)
    marked = rows[key].merge(seen, on=key, how="left", indicator=True)
    revision = (marked["_merge"] == "both").to_numpy()
    event = rows["event_timestamp"].astype(_UTC)
    created = event.where(~revision, pd.Timestamp(known_at).tz_convert("UTC"))
    return rows.assign(created_timestamp=created.astype(_UTC))
