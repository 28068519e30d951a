"""The prod profile's read-through tests (lazy fill, no stampede, settled misses, warm-up),
run unchanged against the `cluster` profile's stack (conftest.py here): the same
specification, not a copy of it."""

from __future__ import annotations

import pytest

from tests.integration.serving.test_read_through import (  # noqa: F401
    test_friday_value_is_fresh_through_monday_close,
    test_missing_ticker_is_filled_from_the_warehouse_and_next_read_is_a_hit,
    test_past_as_of_reads_point_in_time_from_the_offline_store,
    test_ticker_with_prices_but_no_feature_rows_is_computed_from_prices,
    test_unknown_ticker_is_an_explicit_outcome_and_is_not_looked_up_again,
    test_value_before_a_holiday_stays_fresh_through_the_holiday,
    test_value_of_latest_completed_session_is_a_fresh_online_hit,
    test_warm_up_loads_every_ticker_so_the_first_reads_are_hits,
)
from tests.integration.serving.test_settled_misses import (  # noqa: F401
    test_settled_answer_is_the_one_the_threaded_miss_path_gives,
    test_settled_stale_miss_is_served_from_online_values_without_the_warehouse,
    test_unsettled_miss_alone_goes_through_exactly_one_fill,
    test_unsettled_miss_is_left_for_the_fill_even_beside_a_remembered_marker,
)
from tests.integration.serving.test_stampede import (  # noqa: F401
    test_caller_takes_over_after_the_lock_of_a_dead_holder_expires,
    test_hundred_concurrent_misses_cause_exactly_one_computation,
    test_wait_for_a_busy_lock_is_bounded_and_still_answers_from_the_warehouse,
)

pytestmark = pytest.mark.integration
