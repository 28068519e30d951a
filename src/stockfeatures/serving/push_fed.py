"""How the read path answers views fed by Feast's push API (the intraday tier, issue 13).

A push-fed view is filled by whoever pushes (the intraday flow, POST /push), never by the
miss path: its recompute reads daily prices and writes daily rows, which would say nothing
about a 5-minute bar. So a push-fed value that is stale or missing is answered as it is,
marked stale (or unknown when the ticker has nothing at all), and the miss path only ever
looks at the plan's other views ("pulled" views, which it can fill from the warehouse or
stored prices). When a request mixes both, the miss path answers the pulled part and
`settle_push_views` then lays the push-fed values read online over its answer and lowers
its status to stale if they are not fresh by the intraday rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from stockfeatures.serving.response import (
    FRESH,
    ONLINE,
    STALE,
    UNKNOWN,
    FeatureValue,
    TickerFeatures,
)

if TYPE_CHECKING:
    from stockfeatures.serving.miss_path import Lookup
    from stockfeatures.serving.online_reader import ViewValues


def pulled_fresh(lookup: Lookup, per_view: dict[str, ViewValues]) -> bool:
    """Every view the miss path can fill holds a value of the latest completed session."""
    expected = lookup.window.expected_close_s
    push = lookup.plan.push_views
    return all(stamp is not None and stamp >= expected
               for view, (stamp, _) in per_view.items() if view not in push)


def pulled_present(lookup: Lookup, per_view: dict[str, ViewValues]) -> bool:
    """Every view the miss path can fill holds some value (of any session)."""
    push = lookup.plan.push_views
    return all(stamp is not None for view, (stamp, _) in per_view.items() if view not in push)


def all_fresh(lookup: Lookup, per_view: dict[str, ViewValues]) -> bool:
    """Every view fresh by its own rule (lookup.fresh_from: view -> oldest fresh event time)."""
    fresh_from = lookup.fresh_from
    return all(stamp is not None and stamp >= fresh_from[view] for view, (stamp, _) in per_view.items())


def settle_push_views(lookup: Lookup, tickers: Iterable[str]) -> None:
    """Put the push-fed values read online into answers the miss path gave for `tickers`.

    The miss path's rows (warehouse, recompute, degraded tier) carry daily columns only; the
    push-fed columns come from the online read (null when Redis was not read). A fresh
    answer becomes stale when a push-fed value is not fresh; an unknown one becomes stale
    when the ticker has push-fed values after all.
    """
    push = lookup.plan.push_views
    for ticker in dict.fromkeys(tickers):
        item = lookup.results.get(ticker)
        if item is None:
            continue
        per_view = lookup.online.get(ticker) or {}
        values = dict(item.values)
        stale = False
        for view, feature in lookup.plan.columns:
            if view not in push:
                continue
            stamp, view_values = per_view.get(view, (None, {}))
            values[feature] = FeatureValue(view_values.get(feature), stamp,
                                           None if stamp is None else ONLINE)
            stale = stale or stamp is None or stamp < lookup.fresh_from[view]
        status = item.status
        known_after_all = status == UNKNOWN and any(v.event_time_s is not None for v in values.values())
        if (stale and status == FRESH) or known_after_all:
            status = STALE
        lookup.results[ticker] = TickerFeatures(ticker, status, values)
