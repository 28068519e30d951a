"""Load the universe's latest features into the online store before the day's traffic.

After warm-up every ticker's first read is a hit instead of a lazy fill; the hit-rate
benchmark (benchmarks/bench_online.py) measures the difference.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from stockfeatures.config import Settings
from stockfeatures.prices.tickers import validate_tickers
from stockfeatures.progress import Progress, or_silent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WarmUpReport:
    tickers: int
    views: int
    newest_event_timestamp: object

    def line(self) -> str:
        return (f"warm-up: latest features of {self.tickers} tickers written to {self.views} "
                f"online views (newest {self.newest_event_timestamp})")


def warm_up_store(store, warehouse, tickers: Sequence[str] | None = None,
                  progress: Progress | None = None) -> WarmUpReport:
    """Write each ticker's latest warehouse row to every online view through Feast.

    One view at a time, so `progress` (see stockfeatures.progress) can count views.
    """
    from stockfeatures.serving.lazy_compute import LazyCompute
    from stockfeatures.serving.plan import PlanResolver

    progress = or_silent(progress)
    chosen = None if tickers is None else validate_tickers(tickers)
    rows = warehouse.latest_features(chosen)
    views = PlanResolver(store).online_views()
    writer = LazyCompute(store, warehouse, benchmark="")
    progress.start("warm-up", len(views), "views")
    for name, features in views.items():
        writer.write_online(rows, {name: features})
        progress.advance(1, f"{rows['ticker'].nunique()} tickers")
    newest = rows["event_timestamp"].max() if len(rows) else None
    return WarmUpReport(rows["ticker"].nunique(), len(views), newest)


def warm_up(settings: Settings, tickers: Sequence[str] | None = None,
            progress: Progress | None = None) -> WarmUpReport:
    """Warm the online store of the settings' profile (tickers=None: the whole universe)."""
    from stockfeatures.profiles import open_feature_store, open_warehouse

    warehouse = open_warehouse(settings)
    try:
        return warm_up_store(open_feature_store(settings), warehouse, tickers, progress)
    finally:
        warehouse.close()
