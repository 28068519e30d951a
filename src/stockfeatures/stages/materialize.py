"""Materialize stage: the latest known offline value per ticker into the online store,
restated and recomputed values included (stockfeatures.materialize_online)."""

from __future__ import annotations

from datetime import datetime

from stockfeatures.progress import Progress


def materialize(store, start: datetime, end: datetime, progress: Progress | None = None,
                warehouse=None):
    """Copy the latest known value per ticker in [start, end] into the online store; returns
    the OnlineSync report (tickers checked, rewritten per view)."""
    from stockfeatures.materialize_online import materialize_online

    for name, stamp in (("start", start), ("end", end)):
        if stamp.tzinfo is None:
            raise ValueError(f"materialize {name} {stamp!r} must be timezone-aware")
    return materialize_online(store, start, end, warehouse=warehouse, progress=progress)
