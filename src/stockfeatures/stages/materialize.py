"""Materialize stage: the latest offline value per ticker into the online store."""

from __future__ import annotations

import contextlib
import io
import logging
from datetime import datetime

from stockfeatures.progress import Progress

log = logging.getLogger(__name__)


def materialize(store, start: datetime, end: datetime, progress: Progress | None = None) -> None:
    """Copy the latest value per ticker in [start, end] into the online store.

    With `progress`, one feature view at a time so the count and ETA mean something (Feast
    materializes views one after another either way), and Feast's own prints and tqdm bars
    go to the INFO log instead of between the lines of ours.
    """
    for name, stamp in (("start", start), ("end", end)):
        if stamp.tzinfo is None:
            raise ValueError(f"materialize {name} {stamp!r} must be timezone-aware")
    if progress is None:
        store.materialize(start_date=start, end_date=end)
        return
    views = [view.name for view in store.list_feature_views() if view.online]
    progress.start("materialize", len(views), "views")
    for view in views:
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            store.materialize(start_date=start, end_date=end, feature_views=[view])
        log.info("feast materialize %s:\n%s", view, captured.getvalue())
        progress.advance(1, view)
