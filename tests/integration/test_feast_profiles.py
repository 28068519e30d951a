"""Every profile, built from the same definitions, serves what the offline store holds."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from stockfeatures.features.spec import FEATURE_NAMES, MOMENTUM_SERVICE, features_in_service
from stockfeatures.retrieval import historical_features, online_features
from tests.integration.profile_stack import TICKERS, build_stack
from tests.services import throwaway_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def prod_stack(tmp_path_factory, pg_dsn, redis_url):
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield build_stack("prod", tmp_path_factory.mktemp("prod"), monkeypatch, pg_dsn, redis_url)


@pytest.fixture(scope="module")
def cluster_stack(tmp_path_factory, pg_admin_dsn, redis_cluster_nodes, ray_address):
    """The `cluster` profile on its own database, so its rows are written independently of prod's."""
    with pytest.MonkeyPatch.context() as monkeypatch, throwaway_database(pg_admin_dsn) as dsn:
        yield build_stack("cluster", tmp_path_factory.mktemp("cluster"), monkeypatch, dsn,
                          redis_cluster_nodes=redis_cluster_nodes, ray_address=ray_address)


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield build_stack("local", tmp_path_factory.mktemp("local"), monkeypatch)


def _latest_offline_row(stack, ticker: str) -> pd.Series:
    rows = stack.warehouse.read_features(tickers=[ticker])
    return rows.sort_values(["event_timestamp", "created_timestamp"]).iloc[-1]


@pytest.mark.parametrize("stack_name", ["prod_stack", "cluster_stack", "local_stack"])
def test_online_store_serves_the_latest_offline_values(stack_name, request):
    stack = request.getfixturevalue(stack_name)
    online = online_features(stack.store, TICKERS, features=list(FEATURE_NAMES)).set_index("ticker")
    for ticker in TICKERS:
        expected = _latest_offline_row(stack, ticker)
        assert expected["event_timestamp"] == stack.latest
        np.testing.assert_allclose(
            online.loc[ticker, list(FEATURE_NAMES)].to_numpy(dtype=float),
            expected[list(FEATURE_NAMES)].to_numpy(dtype=float),
            rtol=1e-12, equal_nan=True,
        )


@pytest.mark.parametrize("stack_name", ["prod_stack", "cluster_stack", "local_stack"])
def test_feature_service_returns_exactly_its_features(stack_name, request):
    stack = request.getfixturevalue(stack_name)
    online = online_features(stack.store, ["AAPL"], service=MOMENTUM_SERVICE)
    expected = {spec.name for spec in features_in_service(MOMENTUM_SERVICE)}
    assert set(online.columns) - {"ticker"} == expected


@pytest.mark.parametrize("stack_name", ["prod_stack", "cluster_stack", "local_stack"])
def test_on_demand_view_sizes_position_to_target_vol(stack_name, request):
    stack = request.getfixturevalue(stack_name)
    response = stack.store.get_online_features(
        features=["risk_daily:vol_20d", "vol_target:vol_target_weight"],
        entity_rows=[{"ticker": "MSFT", "target_annual_vol": 0.15}],
    ).to_df()
    assert response.loc[0, "vol_target_weight"] == pytest.approx(0.15 / response.loc[0, "vol_20d"])


@pytest.mark.parametrize("stack_name", ["prod_stack", "cluster_stack", "local_stack"])
def test_bar_is_invisible_before_session_close(stack_name, request):
    stack = request.getfixturevalue(stack_name)
    close = stack.latest
    entity_df = pd.DataFrame({
        "ticker": ["AAPL", "AAPL"],
        "event_timestamp": [close - timedelta(microseconds=1), close],
    })
    history = historical_features(stack.store, entity_df, features=["ret_1d"])
    history = history.sort_values("event_timestamp").reset_index(drop=True)
    offline = stack.warehouse.read_features(tickers=["AAPL"]).sort_values("event_timestamp")
    at_close = offline[offline["event_timestamp"] == close]["ret_1d"].iloc[-1]
    before = offline[offline["event_timestamp"] < close]["ret_1d"].iloc[-1]
    assert history.loc[0, "ret_1d"] == pytest.approx(before)
    assert history.loc[1, "ret_1d"] == pytest.approx(at_close)
    assert before != at_close


@pytest.mark.parametrize("other_name", ["local_stack", "cluster_stack"])
def test_profiles_give_the_same_point_in_time_answers_as_prod(prod_stack, other_name, request):
    other_stack = request.getfixturevalue(other_name)
    closes = prod_stack.warehouse.read_features(tickers=["NVDA"])["event_timestamp"].drop_duplicates()
    sampled = closes.sort_values().iloc[::37]
    entity_df = pd.DataFrame({
        "ticker": np.repeat(TICKERS, len(sampled)),
        "event_timestamp": np.tile(sampled.to_numpy(), len(TICKERS)),
    })
    entity_df["event_timestamp"] = pd.to_datetime(entity_df["event_timestamp"], utc=True)
    features = ["ret_20d", "vol_60d", "beta_60d", "mom_12_1_rank"]

    def read(stack):
        frame = historical_features(stack.store, entity_df, features=features)
        return frame.sort_values(["ticker", "event_timestamp"]).reset_index(drop=True)

    prod, other = read(prod_stack), read(other_stack)
    np.testing.assert_allclose(prod[features].to_numpy(float), other[features].to_numpy(float),
                               rtol=1e-12, equal_nan=True)


def test_cluster_online_store_holds_exactly_the_values_prod_holds(prod_stack, cluster_stack):
    assert cluster_stack.store.config.online_store.redis_type == "redis_cluster"
    features = list(FEATURE_NAMES)
    prod = online_features(prod_stack.store, TICKERS, features=features).set_index("ticker")
    cluster = online_features(cluster_stack.store, TICKERS, features=features).set_index("ticker")
    pd.testing.assert_frame_equal(cluster.loc[TICKERS, features], prod.loc[TICKERS, features],
                                  check_exact=True)
