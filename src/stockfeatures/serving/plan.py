"""What a request reads: feature refs or a service resolved once into views and Redis fields.

Feast resolves refs against the registry on every get_online_features call; for a strategy
asking for the same service thousands of times a second that lookup is most of the cost.
Here a resolution is cached per request shape and re-resolved after `refresh_s`, so a
`feast apply` is picked up within that interval without a restart.

Re-resolution runs in a background thread while requests keep the plan they have (stale
while revalidate): refreshing Feast's registry (a SQL registry is read from PostgreSQL and
deserialized) took about 1.1 s on a busy 2-core box, and done inline it stalled every
request behind it, the two 1.1 s outliers of issue 11's explicit-features benchmark.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from feast import FeatureStore
from feast.infra.online_stores.helpers import _mmh3

from stockfeatures.features.spec import FEATURE_NAMES, spec_by_name
from stockfeatures.intraday.spec import intraday_spec_by_name
from stockfeatures.retrieval import UnknownFeature
from stockfeatures.serving.errors import BadRequest, UnknownService

log = logging.getLogger(__name__)

_MAX_CACHED_PLANS = 256


@dataclass(frozen=True)
class ViewRead:
    """One feature view's part of a request: its features and their Redis hash fields.

    Field names follow Feast's Redis layout (mmh3 of "view:feature", and "_ts:view" for the
    view's event timestamp) so a value written by Feast is read back unchanged.
    """

    name: str
    features: tuple[str, ...]
    fields: tuple[bytes | str, ...]
    # This view's HMGET replies already decoded (online_reader.decode_replies), by their raw
    # bytes: a worker reads the same values until the next session close or push.
    decoded: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, name: str, features: Sequence[str]) -> ViewRead:
        fields = tuple(_mmh3(f"{name}:{feature}") for feature in features) + (f"_ts:{name}",)
        return cls(name, tuple(features), fields)


@dataclass(frozen=True)
class ReadPlan:
    """views: what to read; columns: (view, feature) in Feast's response order.

    passthrough: refs this layer does not serve itself (on-demand views, which need request
    data); such requests go to Feast's get_online_features unchanged.
    push_views: the plan's views fed by Feast's push API (the intraday tier): judged by the
    intraday freshness rule, and never filled by the miss path's recompute from daily prices.
    """

    views: tuple[ViewRead, ...]
    columns: tuple[tuple[str, str], ...]
    refs: tuple[str, ...] | None
    service: str | None
    passthrough: bool = False
    push_views: frozenset[str] = frozenset()

    def names(self, full_feature_names: bool = False) -> list[str]:
        if full_feature_names:
            return [f"{view}__{feature}" for view, feature in self.columns]
        return [feature for _, feature in self.columns]

    @property
    def feature_names(self) -> list[str]:
        return [feature for _, feature in self.columns]


def is_push_fed(view) -> bool:
    """A view fed by push (tags fed_by=push, or the 5-minute frequency of the intraday tier)."""
    tags = getattr(view, "tags", None) or {}
    return tags.get("fed_by") == "push" or tags.get("frequency") == "5m"


def _group(columns: Sequence[tuple[str, str]]) -> tuple[ViewRead, ...]:
    grouped: dict[str, list[str]] = {}
    for view, feature in columns:
        grouped.setdefault(view, [])
        if feature not in grouped[view]:
            grouped[view].append(feature)
    return tuple(ViewRead.build(view, features) for view, features in grouped.items())


def _view_of(name: str) -> str:
    """The view of a bare feature name: the daily spec first, then the intraday spec."""
    try:
        return spec_by_name(name).view
    except KeyError as error:
        try:
            return intraday_spec_by_name(name).view
        except KeyError:
            raise UnknownFeature(error.args[0] if error.args else str(error)) from None


class PlanResolver:
    """Turns (features | service) into a ReadPlan, validating names against the registry."""

    def __init__(self, store: FeatureStore, refresh_s: float = 60.0):
        self.store = store
        self.refresh_s = refresh_s
        self._plans: dict[object, tuple[float, ReadPlan]] = {}
        self._views: dict[str, set[str]] = {}
        self._odfvs: dict[str, set[str]] = {}
        self._push_fed: frozenset[str] = frozenset()
        self._views_loaded_at = float("-inf")
        self._lock = threading.Lock()
        self._refreshing: set[object] = set()

    def resolve(self, features: Sequence[str] | None = None, service: str | None = None) -> ReadPlan:
        return self.cached(features, service) or self._store(
            self._key(features, service), self._resolve(features, service))

    def cached(self, features: Sequence[str] | None = None, service: str | None = None) -> ReadPlan | None:
        """The plan already resolved for this request shape, or None; never waits on the
        registry (a due refresh runs in the background), so the event loop may call it."""
        key = self._key(features, service)
        cached = self._plans.get(key)
        if cached is None:
            return None
        if time.monotonic() - cached[0] >= self.refresh_s:
            self._in_background(key, lambda: self._store(key, self._resolve(features, service)))
        return cached[1]

    @staticmethod
    def _key(features: Sequence[str] | None, service: str | None) -> object:
        if service and features:
            raise BadRequest("ask for a feature service or a list of features, not both")
        return ("service", service) if service else ("features", tuple(features or ()))

    def _resolve(self, features: Sequence[str] | None, service: str | None) -> ReadPlan:
        return self._resolve_service(service) if service else self._resolve_features(features)

    def _store(self, key: object, plan: ReadPlan) -> ReadPlan:
        with self._lock:
            if len(self._plans) >= _MAX_CACHED_PLANS:
                self._plans.clear()
            self._plans[key] = (time.monotonic(), plan)
        return plan

    def _in_background(self, key: object, refresh) -> None:
        """Run refresh once per key at a time in a daemon thread; a failure (a removed
        feature, the registry unreachable) keeps the old plan and is retried next time."""
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)

        def run() -> None:
            try:
                refresh()
            except Exception as error:  # the plan in use stays valid until a refresh works
                log.warning("registry refresh failed, keeping the current plan: %s", error)
                with self._lock:  # retry after another interval, not on every request
                    cached = self._plans.get(key)
                    if cached is not None:
                        self._plans[key] = (time.monotonic(), cached[1])
                    elif key == "views":
                        self._views_loaded_at = time.monotonic()
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        threading.Thread(target=run, name="plan-refresh", daemon=True).start()

    def online_views(self) -> dict[str, set[str]]:
        """Feature views served online and their features (refreshed with the plans)."""
        if self._views_loaded_at == float("-inf"):
            self._load_views()
        elif time.monotonic() - self._views_loaded_at >= self.refresh_s:
            self._in_background("views", self._load_views)
        return self._views

    def _load_views(self) -> None:
        now = time.monotonic()
        online = [v for v in self.store.list_feature_views(allow_cache=True) if v.online]
        views = {v.name: {f.name for f in v.features} for v in online}
        push_fed = frozenset(v.name for v in online if is_push_fed(v))
        odfvs = {v.name: {f.name for f in v.features}
                 for v in self.store.list_on_demand_feature_views(allow_cache=True)}
        with self._lock:
            self._views, self._odfvs, self._views_loaded_at = views, odfvs, now
            self._push_fed = push_fed

    def _push_views(self, views_read: Sequence[ViewRead]) -> frozenset[str]:
        return frozenset(v.name for v in views_read if v.name in self._push_fed)

    def _resolve_service(self, service: str) -> ReadPlan:
        try:
            feature_service = self.store.get_feature_service(service, allow_cache=True)
        except Exception as error:  # Feast raises FeatureServiceNotFoundException
            known = ", ".join(sorted(s.name for s in self.store.list_feature_services()))
            raise UnknownService(f"unknown feature service {service!r}; known services: {known}") from error
        views = self.online_views()
        columns: list[tuple[str, str]] = []
        passthrough = False
        for projection in feature_service.feature_view_projections:
            if projection.name not in views:
                passthrough = True
            columns.extend((projection.name_to_use(), f.name) for f in projection.features)
        views_read = _group(columns)
        return ReadPlan(views_read, tuple(columns), None, service, passthrough,
                        self._push_views(views_read))

    def _resolve_features(self, features: Sequence[str] | None) -> ReadPlan:
        views = self.online_views()
        columns: list[tuple[str, str]] = []
        passthrough = False
        for name in features or FEATURE_NAMES:
            if not isinstance(name, str) or not name:
                raise UnknownFeature(f"feature names are non-empty strings, got {name!r}")
            if ":" in name:
                view, _, feature = name.partition(":")
            else:
                view, feature = _view_of(name), name
            if view in self._odfvs and feature in self._odfvs[view]:
                passthrough = True
            elif view not in views or feature not in views[view]:
                raise UnknownFeature(
                    f"unknown feature {name!r}: no online feature view {view!r} with a feature "
                    f"{feature!r}; known views: {', '.join(sorted(views))}"
                )
            columns.append((view, feature))
        views_read = _group(columns)
        # Feast answers grouped by view, in the order views first appear in the request.
        grouped = tuple((v.name, f) for v in views_read for f in v.features)
        refs = tuple(f"{view}:{feature}" for view, feature in grouped)
        return ReadPlan(views_read, grouped, refs, None, passthrough, self._push_views(views_read))
