"""After a restatement, compute + materialize leave the online store holding exactly the
warehouse's latest-known values, in every profile, while backtests as known before the
restatement still see the old ones (issue 10, finding 2)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from stockfeatures.features.spec import FEATURE_NAMES
from stockfeatures.retrieval import historical_features, online_features
from stockfeatures.stages import compute, materialize
from tests.integration.profile_stack import TICKERS, build_stack
from tests.services import throwaway_database

pytestmark = pytest.mark.integration
LEARNED_AFTER = timedelta(days=3)


def _restate(stack, ticker: str, sessions_back: int, factor: float) -> pd.Timestamp:
    """A corrected close for `ticker`'s bar `sessions_back` sessions before the latest, learned
    LEARNED_AFTER the latest close: a new version of the bar, as a vendor correction arrives."""
    bars = stack.warehouse.read_bars(tickers=[ticker])
    bar = bars.sort_values(["session", "created_timestamp"]).drop_duplicates("session", keep="last")
    bar = bar.iloc[[-1 - sessions_back]].copy()
    bar["close"] = bar["close"] * factor
    bar["high"] = bar[["high", "close"]].max(axis=1)
    bar["low"] = bar[["low", "close"]].min(axis=1)
    known_at = stack.latest + LEARNED_AFTER
    bar["created_timestamp"] = known_at
    assert stack.warehouse.write_bars(bar).inserted == 1
    return known_at


def _latest_known(stack) -> pd.DataFrame:
    return stack.warehouse.latest_features(TICKERS).set_index("ticker")[list(FEATURE_NAMES)]


@pytest.fixture(scope="module", params=["local", "prod", "cluster"])
def restated(request, tmp_path_factory, pg_admin_dsn, redis_url):
    with pytest.MonkeyPatch.context() as monkeypatch, throwaway_database(pg_admin_dsn) as dsn:
        profile = request.param
        servers = {} if profile == "local" else {"pg_dsn": dsn}
        if profile == "prod":
            servers["redis_url"] = redis_url
        if profile == "cluster":
            servers["redis_cluster_nodes"] = request.getfixturevalue("redis_cluster_nodes")
            servers["ray_address"] = request.getfixturevalue("ray_address")
        stack = build_stack(profile, tmp_path_factory.mktemp(profile), monkeypatch, **servers)
        before = _latest_known(stack)
        known_at = _restate(stack, "SPY", 0, 1.03)  # every ticker's beta_60d on the latest session
        _restate(stack, "AAPL", 21, 3.0)  # AAPL's mom_12_1 to the top of the ranks
        compute.compute(stack.warehouse, stack.settings.benchmark_ticker)
        materialize.materialize(stack.store, stack.latest - timedelta(days=10), stack.latest + timedelta(seconds=1))
        yield stack, before, known_at


def test_restatement_changed_the_warehouse_values(restated):
    stack, before, _ = restated
    after = _latest_known(stack)
    others = [t for t in TICKERS if t != "SPY"]  # the benchmark's beta to itself stays 1
    assert (after.loc[others, "beta_60d"] != before.loc[others, "beta_60d"]).all()
    assert (after["mom_12_1_rank"] != before["mom_12_1_rank"]).any()
    assert after.loc["SPY", "ret_1d"] != before.loc["SPY", "ret_1d"]


def test_online_store_holds_exactly_the_latest_known_values(restated):
    stack, _, _ = restated
    online = online_features(stack.store, TICKERS, features=list(FEATURE_NAMES)).set_index("ticker")
    expected = _latest_known(stack)
    np.testing.assert_array_equal(online.loc[TICKERS, list(FEATURE_NAMES)].to_numpy(float),
                                  expected.loc[TICKERS].to_numpy(float))


def test_backtest_as_known_before_the_restatement_sees_the_old_values(restated):
    stack, before, known_at = restated
    features = ["beta_60d", "mom_12_1_rank", "ret_1d"]
    entity_df = pd.DataFrame({
        "ticker": TICKERS * 2,
        "event_timestamp": [known_at - timedelta(hours=1)] * len(TICKERS) + [known_at] * len(TICKERS),
    })
    history = historical_features(stack.store, entity_df, features=features)
    asked = pd.to_datetime(history["event_timestamp"], utc=True)
    old = history[asked < known_at].set_index("ticker").loc[TICKERS, features]
    new = history[asked == known_at].set_index("ticker").loc[TICKERS, features]
    np.testing.assert_array_equal(old.to_numpy(float), before.loc[TICKERS, features].to_numpy(float))
    np.testing.assert_array_equal(new.to_numpy(float), _latest_known(stack).loc[TICKERS, features].to_numpy(float))


def test_materializing_an_older_window_never_moves_the_online_store_back(restated):
    """Stock Feast's SQLite writer upserts the older window's rows; ours keeps the newer session."""
    stack, _, _ = restated
    sync = materialize.materialize(stack.store, stack.latest - timedelta(days=60), stack.latest - timedelta(days=30))
    assert sync.checked == len(TICKERS)
    online = online_features(stack.store, TICKERS, features=list(FEATURE_NAMES)).set_index("ticker")
    np.testing.assert_array_equal(online.loc[TICKERS, list(FEATURE_NAMES)].to_numpy(float),
                                  _latest_known(stack).loc[TICKERS].to_numpy(float))


def test_online_state_reads_what_get_online_features_returns(restated):
    """materialize's online_state reads through the provider (cheaper at 10,000 tickers); it
    must report the values and event timestamps Feast serves, and NaN/NaT for an unknown
    ticker."""
    from stockfeatures.features.spec import features_in_view, view_names
    from stockfeatures.materialize_online import online_state

    stack, _, _ = restated
    tickers = [*TICKERS, "NEVERSEEN"]
    for view in view_names():
        names = [spec.name for spec in features_in_view(view)]
        state = online_state(stack.store, view, tickers)
        served = stack.store.get_online_features(
            features=[f"{view}:{name}" for name in names], entity_rows=[{"ticker": t} for t in tickers],
        ).to_dict(include_event_timestamps=True)
        for name in names:
            expected = np.array([np.nan if v is None else v for v in served[name]], dtype=float)
            np.testing.assert_array_equal(state[name].to_numpy(float), expected)
        seconds = [int(s.timestamp()) if s is not None and s.timestamp() > 0 else 0
                   for s in pd.to_datetime(served[names[0] + "__ts"], unit="s", utc=True)]
        held = state["event_timestamp"]
        assert [0 if pd.isna(s) else int(s.timestamp()) for s in held] == seconds
        assert pd.isna(held.loc["NEVERSEEN"]) and state.loc["NEVERSEEN", names].isna().all()
