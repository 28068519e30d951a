"""The prod profile's HTTP API tests (feast-serve-compatible answers, per-ticker reads,
/health), run unchanged on the `cluster` profile's stack: the same app over a RedisCluster."""

from __future__ import annotations

import pytest

from tests.integration.serving.test_http_api import (  # noqa: F401
    client,
    test_feature_of_one_ticker_carries_value_time_and_source,
    test_get_online_features_answers_what_feast_answers,
    test_health_reports_both_stores,
    test_sources_are_added_only_when_asked,
    test_unknown_ticker_is_a_404_that_says_so,
)

pytestmark = pytest.mark.integration
