"""The point-in-time rules, one named case each, asked of the fast store through Feast.

Where stock Feast answers the same, the test compares with it too; where stock Feast is
wrong (colliding row ids of multi-key views), the DuckDB reference decides.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.integration.pit.feast_repo import (
    DAILY_FEATURES,
    DAILY_TABLE,
    MARKET_TABLE,
    QUOTE_FEATURE,
    QUOTES_TABLE,
    RETURNS,
    RETURNS_TTL,
    RISK,
    UNINDEXED_TABLE,
    VENUE_TABLE,
    PitRepo,
)
from tests.integration.pit.pit_data import FIRST_CLOSE, SECOND
from tests.integration.pit.reference import reference_pit

pytestmark = pytest.mark.integration

FEATURE = RETURNS[0]
REF = f"pit_returns:{FEATURE}"


def daily(rows: list[tuple[str, pd.Timestamp, pd.Timestamp, float]]) -> pd.DataFrame:
    """Bars with every feature set to `value` (enough to tell versions apart)."""
    frame = pd.DataFrame(
        [{"ticker": t, "event_timestamp": e, "created_timestamp": c} for t, e, c, _ in rows]
    )
    for name in DAILY_FEATURES:
        frame[name] = [value for *_, value in rows]
    return frame


def entities(rows: list[tuple[str, pd.Timestamp]]) -> pd.DataFrame:
    return pd.DataFrame({"ticker": [t for t, _ in rows], "event_timestamp": [ts for _, ts in rows]})


def ask(store, entity: pd.DataFrame, refs, **kwargs) -> pd.DataFrame:
    return store.get_historical_features(entity_df=entity, features=refs, **kwargs).to_df()


def values(frame: pd.DataFrame, column: str = FEATURE) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in frame[column]]


@pytest.fixture(params=["lateral", "merge"])
def fast_store(pit_repo: PitRepo, request: pytest.FixtureRequest):
    """The fast store on each of its two plans: every rule must hold for both."""
    return pit_repo.fast if request.param == "lateral" else pit_repo.merge


@pytest.fixture
def restated_bar(pit_repo: PitRepo) -> pd.Timestamp:
    """AAA's first bar, first known at its close as 1.0, restated 30 hours later as 2.0."""
    learned = FIRST_CLOSE + pd.Timedelta(hours=30)
    pit_repo.replace_rows(
        DAILY_TABLE, daily([("AAA", FIRST_CLOSE, FIRST_CLOSE, 1.0), ("AAA", FIRST_CLOSE, learned, 2.0)])
    )
    return learned


def test_restated_bar_is_hidden_from_queries_known_before_the_restatement(fast_store, pit_repo, restated_bar):
    entity = entities([("AAA", restated_bar - SECOND), ("AAA", restated_bar), ("AAA", restated_bar + SECOND)])
    fast = ask(fast_store, entity, [REF], filter_by_created_timestamp=True)
    assert values(fast) == [1.0, 2.0, 2.0]
    stock = ask(pit_repo.stock, entity, [REF], filter_by_created_timestamp=True)
    assert values(stock.sort_values("event_timestamp")) == [1.0, 2.0, 2.0]


def test_without_knowledge_time_filter_the_latest_restatement_wins(fast_store, pit_repo, restated_bar):
    entity = entities([("AAA", FIRST_CLOSE), ("AAA", restated_bar - SECOND)])
    assert values(ask(fast_store, entity, [REF])) == [2.0, 2.0]


def test_bar_is_visible_from_its_own_timestamp_and_not_a_second_before(fast_store, pit_repo):
    pit_repo.replace_rows(DAILY_TABLE, daily([("AAA", FIRST_CLOSE, FIRST_CLOSE, 1.0)]))
    entity = entities([("AAA", FIRST_CLOSE - SECOND), ("AAA", FIRST_CLOSE)])
    assert values(ask(fast_store, entity, [REF], filter_by_created_timestamp=True)) == [None, 1.0]


def test_value_exactly_ttl_old_is_served_and_one_second_older_is_not(fast_store, pit_repo):
    pit_repo.replace_rows(DAILY_TABLE, daily([("AAA", FIRST_CLOSE, FIRST_CLOSE, 1.0)]))
    edge = FIRST_CLOSE + RETURNS_TTL
    entity = entities([("AAA", edge), ("AAA", edge + SECOND)])
    refs = [REF, f"pit_risk:{RISK[0]}"]  # pit_risk has no ttl: its value never expires
    fast = ask(fast_store, entity, refs)
    assert values(fast) == [1.0, None]
    assert values(fast, RISK[0]) == [1.0, 1.0]
    pd.testing.assert_frame_equal(fast, ask(pit_repo.stock, entity, refs))


def test_unknown_ticker_keeps_its_row_with_null_features(fast_store, pit_repo):
    pit_repo.replace_rows(DAILY_TABLE, daily([("AAA", FIRST_CLOSE, FIRST_CLOSE, 1.0)]))
    entity = entities([("NOPE", FIRST_CLOSE + SECOND), ("AAA", FIRST_CLOSE + SECOND)])
    fast = ask(fast_store, entity, [REF])
    assert list(fast["ticker"]) == ["NOPE", "AAA"]
    assert values(fast) == [None, 1.0]


def test_rows_keep_the_callers_order_extra_columns_and_stock_dtypes(fast_store, pit_repo):
    pit_repo.replace_rows(
        DAILY_TABLE, daily([(t, FIRST_CLOSE, FIRST_CLOSE, float(i)) for i, t in enumerate("ZYX")])
    )
    times = pd.DatetimeIndex([FIRST_CLOSE + pd.Timedelta(hours=h) for h in (3, 1, 2)])
    entity = pd.DataFrame(
        {
            "weight": [0.5, 0.25, 0.25],
            "ticker": ["Z", "X", "Y"],
            "event_timestamp": times.tz_convert("America/New_York"),
            "rebalance_id": np.array([7, 8, 9], dtype=np.int64),
            "note": ["a", "b", None],
            "decided_at": times.tz_localize(None),
        }
    )
    refs = [REF, f"pit_risk:{RISK[1]}"]
    fast = ask(fast_store, entity, refs)
    stock = ask(pit_repo.stock, entity, refs)
    assert list(fast.columns) == [*entity.columns, FEATURE, RISK[1]]
    assert list(fast["ticker"]) == ["Z", "X", "Y"]
    assert values(fast) == [0.0, 2.0, 1.0]
    # The stock store gives no row order; everything else must be identical, dtypes included.
    stock = stock.set_index("rebalance_id").loc[fast["rebalance_id"]].reset_index()
    pd.testing.assert_frame_equal(fast, stock[fast.columns])
    assert str(fast["event_timestamp"].dtype) == "datetime64[us]"  # UTC wall time, like stock


def test_multi_key_row_ids_do_not_collide_where_stock_feast_mixes_them_up(fast_store, pit_repo):
    """Stock Feast's row id is CAST(ticker) || CAST(venue) || CAST(time) with no separator, so
    ("AB", "C") and ("A", "BC") at the same time share an id and get each other's values."""
    venue_rows = pd.DataFrame(
        {
            "ticker": ["AB", "A"],
            "venue": ["C", "BC"],
            "event_timestamp": [FIRST_CLOSE, FIRST_CLOSE],
            "venue_price": [10.0, 20.0],
        }
    )
    pit_repo.replace_rows(VENUE_TABLE, venue_rows)
    entity = pd.DataFrame(
        {
            "row_id": [0, 1],
            "ticker": ["AB", "A"],
            "venue": ["C", "BC"],
            "event_timestamp": [FIRST_CLOSE + SECOND] * 2,
        }
    )
    refs = ["pit_venue:venue_price"]
    fast = ask(fast_store, entity, refs)
    expected = reference_pit(entity, venue_rows, ["ticker", "venue"], ["venue_price"], None, None, False)
    assert values(fast, "venue_price") == [10.0, 20.0]
    assert values(fast, "venue_price") == list(expected["venue_price"])
    stock = ask(pit_repo.stock, entity, refs)
    assert len(stock) != len(entity) or values(stock.sort_values("row_id"), "venue_price") != [10.0, 20.0]


def test_feature_service_with_alias_and_join_key_map_matches_stock(fast_store, pit_repo):
    pit_repo.replace_rows(
        DAILY_TABLE, daily([("AAA", FIRST_CLOSE, FIRST_CLOSE, 1.0), ("BBB", FIRST_CLOSE, FIRST_CLOSE, 2.0)])
    )
    entity = pd.DataFrame(
        {"symbol": ["BBB", "AAA"], "event_timestamp": [FIRST_CLOSE + SECOND] * 2}
    )
    for full in (False, True):
        fast = ask(fast_store, entity, fast_store.get_feature_service("pit_by_symbol"),
                   full_feature_names=full)
        stock = ask(pit_repo.stock, entity, pit_repo.stock.get_feature_service("pit_by_symbol"),
                    full_feature_names=full)
        column = f"risk_by_symbol__{RISK[0]}" if full else RISK[0]
        assert values(fast, column) == [2.0, 1.0]
        pd.testing.assert_frame_equal(fast, stock.set_index("symbol").loc[["BBB", "AAA"]].reset_index())


def test_a_view_without_entities_is_joined_on_time_alone_beside_a_keyed_view(fast_store, pit_repo):
    """Feast's entityless views (no join keys) next to a ticker view, on both plans: the
    merge plan has no keys to merge such a view on and must still answer (Feast's universal
    historical-retrieval suite once failed here on a shape mismatch)."""
    pit_repo.replace_rows(DAILY_TABLE, daily([("AAA", FIRST_CLOSE, FIRST_CLOSE, 1.0),
                                              ("BBB", FIRST_CLOSE, FIRST_CLOSE, 2.0)]))
    closes = [FIRST_CLOSE, FIRST_CLOSE + pd.Timedelta(days=1)]
    pit_repo.replace_rows(MARKET_TABLE, pd.DataFrame({"event_timestamp": closes,
                                                      "market_return": [0.01, -0.02]}))
    entity = entities([("AAA", FIRST_CLOSE - SECOND), ("AAA", FIRST_CLOSE + SECOND),
                       ("BBB", closes[1]), ("BBB", closes[1] + pd.Timedelta(days=3))])
    refs = [REF, "pit_market:market_return"]
    fast = ask(fast_store, entity, refs)
    stock = ask(pit_repo.stock, entity, refs)
    assert values(fast, "market_return") == [None, 0.01, -0.02, None]  # ttl 2 days
    assert values(fast) == [None, 1.0, 2.0, None]
    order = ["ticker", "event_timestamp"]
    pd.testing.assert_frame_equal(fast.sort_values(order).reset_index(drop=True),
                                  stock[fast.columns].sort_values(order).reset_index(drop=True))


def test_on_demand_feature_view_is_computed_on_the_fast_result(fast_store, pit_repo):
    pit_repo.replace_rows(DAILY_TABLE, daily([("AAA", FIRST_CLOSE, FIRST_CLOSE, 1.5)]))
    entity = pd.DataFrame(
        {"ticker": ["AAA"], "event_timestamp": [FIRST_CLOSE + SECOND], "scale": [4.0]}
    )
    refs = [REF, "scaled_returns:scaled_first_return"]
    fast = ask(fast_store, entity, refs)
    assert values(fast, "scaled_first_return") == [6.0]
    pd.testing.assert_frame_equal(fast, ask(pit_repo.stock, entity, refs))


def test_sql_entity_query_is_answered_by_the_inherited_stock_join(pit_repo):
    pit_repo.replace_rows(QUOTES_TABLE, pd.DataFrame(
        {"ticker": ["AAA"], "event_timestamp": [FIRST_CLOSE], QUOTE_FEATURE: [3.0]}
    ))
    query = (
        "SELECT 'AAA'::text AS ticker, "
        f"'{(FIRST_CLOSE + SECOND).isoformat()}'::timestamptz AS event_timestamp"
    )
    fast = ask(pit_repo.fast, query, [f"pit_quotes:{QUOTE_FEATURE}"])
    assert values(fast, QUOTE_FEATURE) == [3.0]


def test_materialization_is_inherited_and_fills_the_online_store(pit_repo, restated_bar):
    pit_repo.fast.materialize(
        start_date=(FIRST_CLOSE - pd.Timedelta(days=1)).to_pydatetime(),
        end_date=(restated_bar + pd.Timedelta(days=1)).to_pydatetime(),
        feature_views=["pit_risk"],
    )
    online = pit_repo.fast.get_online_features(
        features=[f"pit_risk:{RISK[0]}"], entity_rows=[{"ticker": "AAA"}]
    ).to_dict()
    assert online[RISK[0]] == [2.0]


def test_table_without_a_point_in_time_index_is_answered_and_the_index_is_suggested(
    pit_repo, caplog
):
    pit_repo.replace_rows(UNINDEXED_TABLE, pd.DataFrame(
        {"ticker": ["AAA", "AAA"], "event_timestamp": [FIRST_CLOSE, FIRST_CLOSE + pd.Timedelta(days=1)],
         QUOTE_FEATURE: [1.0, 2.0]}
    ))
    entity = entities([("AAA", FIRST_CLOSE + pd.Timedelta(hours=1)), ("AAA", FIRST_CLOSE - SECOND)])
    refs = [f"pit_unindexed:{QUOTE_FEATURE}"]
    with caplog.at_level("WARNING", logger="stockfeatures.offline.source_index"):
        fast = ask(pit_repo.fast, entity, refs)
    assert values(fast, QUOTE_FEATURE) == [1.0, None]
    assert f'CREATE INDEX ON {UNINDEXED_TABLE} ("ticker", "event_timestamp")' in caplog.text
    # The merge plan streams the rows once and needs no index.
    assert values(ask(pit_repo.merge, entity, refs), QUOTE_FEATURE) == [1.0, None]
