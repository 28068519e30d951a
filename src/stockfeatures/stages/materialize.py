"""Materialize stage: the latest offline value per ticker into the online store."""

from __future__ import annotations

from datetime import datetime


def materialize(store, start: datetime, end: datetime) -> None:
    """Copy the latest value per ticker in [start, end] into the online store."""
    for name, stamp in (("start", start), ("end", end)):
        if stamp.tzinfo is None:
            raise ValueError(f"materialize {name} {stamp!r} must be timezone-aware")
    store.materialize(start_date=start, end_date=end)
