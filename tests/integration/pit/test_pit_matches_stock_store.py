"""Property: on any bitemporal data, the fast store answers exactly what stock Feast answers.

Each example loads random rows into PostgreSQL, asks both FeatureStores (same registry, only
`offline_store.type` differs) and the plain DuckDB statement of the rule in reference.py,
and requires the three to agree value for value, with the fast store keeping the caller's
row order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.integration.pit.feast_repo import (
    DAILY_TABLE,
    QUOTE_FEATURE,
    QUOTES_TABLE,
    QUOTES_TTL,
    RETURNS,
    RETURNS_TTL,
    RISK,
    PitRepo,
)
from tests.integration.pit.pit_data import (
    ENTITY_TIMEZONES,
    daily_frame,
    daily_rows,
    entity_frame,
    entity_rows,
    quote_rows,
    quotes_frame,
)
from tests.integration.pit.reference import reference_pit

pytestmark = pytest.mark.integration


def feature_refs(full_feature_names: bool) -> list[str]:
    refs = [f"pit_returns:{n}" for n in RETURNS] + [f"pit_risk:{n}" for n in RISK]
    refs.append(f"pit_quotes:{QUOTE_FEATURE}")
    if full_feature_names:
        # Same feature name as pit_returns: only addressable with full names.
        refs.append(f"pit_mapped:{RETURNS[0]}")
    return refs


def output_name(view: str, feature: str, full_feature_names: bool) -> str:
    return f"{view}__{feature}" if full_feature_names else feature


def expected_by_reference(
    entity: pd.DataFrame, daily: pd.DataFrame, quotes: pd.DataFrame, full: bool, by_created: bool
) -> pd.DataFrame:
    parts = []
    for view, names, ttl in (("pit_returns", RETURNS, RETURNS_TTL), ("pit_risk", RISK, None)):
        part = reference_pit(entity, daily, ["ticker"], names, ttl, "created_timestamp", by_created)
        parts.append(part.rename(columns={n: output_name(view, n, full) for n in names}))
    part = reference_pit(entity, quotes, ["ticker"], [QUOTE_FEATURE], QUOTES_TTL, None, by_created)
    parts.append(part.rename(columns={QUOTE_FEATURE: output_name("pit_quotes", QUOTE_FEATURE, full)}))
    if full:
        part = reference_pit(entity, daily, ["ticker"], [RETURNS[0]], None, "created_timestamp", by_created)
        parts.append(part.rename(columns={RETURNS[0]: f"pit_mapped__{RETURNS[0]}"}))
    return pd.concat(parts, axis=1)


@settings(
    max_examples=30,
    deadline=None,
    # No shrinking: it would replay thousands of database round trips (minutes) to shorten
    # examples that are small already.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    daily=daily_rows,
    quotes=quote_rows,
    entities=entity_rows,
    timezone=st.sampled_from(ENTITY_TIMEZONES),
    by_created=st.booleans(),
    full=st.booleans(),
)
def test_fast_store_returns_what_stock_feast_and_the_reference_return(
    pit_repo: PitRepo, daily, quotes, entities, timezone, by_created, full
):
    daily_df, quotes_df = daily_frame(daily), quotes_frame(quotes)
    pit_repo.replace_rows(DAILY_TABLE, daily_df)
    pit_repo.replace_rows(QUOTES_TABLE, quotes_df)
    entity = entity_frame(entities, timezone)
    refs = feature_refs(full)

    def ask(store):
        return store.get_historical_features(
            entity_df=entity,
            features=refs,
            full_feature_names=full,
            filter_by_created_timestamp=by_created,
        ).to_df()

    fast, stock = ask(pit_repo.fast), ask(pit_repo.stock)
    # The merge plan gives the lateral plan's answer, value for value and type for type.
    pd.testing.assert_frame_equal(ask(pit_repo.merge), fast, check_exact=True)

    # The caller's row order survives; stock Feast gives no order, so compare it sorted.
    np.testing.assert_array_equal(fast["row_id"].to_numpy(), np.arange(len(entity)))
    stock = stock.sort_values("row_id", kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(fast, stock, check_exact=True)

    expected = expected_by_reference(entity, daily_df, quotes_df, full, by_created)
    features = fast.drop(columns=["row_id", "ticker", "event_timestamp"]).set_index(
        fast["row_id"]
    )
    pd.testing.assert_frame_equal(
        features, expected[features.columns], check_exact=True, check_names=False
    )
