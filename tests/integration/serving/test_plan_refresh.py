"""A registry refresh never stalls a request: plans are re-resolved in the background
(the cause of the 1.1 s outliers of issue 11's explicit-features benchmark)."""

from __future__ import annotations

import threading
import time

import pytest

from stockfeatures.features.spec import MOMENTUM_SERVICE
from stockfeatures.serving.plan import PlanResolver

pytestmark = pytest.mark.integration


class SlowRegistryStore:
    """The real FeatureStore whose registry calls block while `held` is set (a slow SQL registry)."""

    def __init__(self, store):
        self.store = store
        self.held = threading.Event()
        self.release = threading.Event()
        self.blocked = 0

    def _maybe_block(self):
        if self.held.is_set():
            self.blocked += 1
            self.release.wait(timeout=30)

    def get_feature_service(self, *args, **kwargs):
        self._maybe_block()
        return self.store.get_feature_service(*args, **kwargs)

    def list_feature_views(self, *args, **kwargs):
        self._maybe_block()
        return self.store.list_feature_views(*args, **kwargs)

    def list_on_demand_feature_views(self, *args, **kwargs):
        return self.store.list_on_demand_feature_views(*args, **kwargs)

    def list_feature_services(self, *args, **kwargs):
        return self.store.list_feature_services(*args, **kwargs)


@pytest.mark.parametrize("request_", [{"service": MOMENTUM_SERVICE},
                                      {"features": ["returns_daily:ret_1d", "ret_5d"]}])
def test_expired_plan_is_served_while_the_registry_refreshes(stack, request_):
    slow = SlowRegistryStore(stack.store)
    resolver = PlanResolver(slow, refresh_s=0.01)
    plan = resolver.resolve(request_.get("features"), request_.get("service"))
    time.sleep(0.05)  # let the plan and the views expire
    slow.held.set()
    answered = []
    reader = threading.Thread(
        target=lambda: answered.append(resolver.resolve(request_.get("features"), request_.get("service"))))
    reader.start()
    reader.join(timeout=10)
    try:
        assert answered == [plan]  # at once, the plan it had, while the refresh waits
        for _ in range(200):
            if slow.blocked:
                break
            time.sleep(0.01)
        assert slow.blocked >= 1  # the refresh did go to the registry, in the background
    finally:
        slow.release.set()
        reader.join(timeout=30)
