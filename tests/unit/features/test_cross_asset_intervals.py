"""beta_60d pairs each of the ticker's returns with the benchmark's return over the same
interval, and its warm-up counts the sessions the ticker shares with the benchmark (issue 10)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockfeatures.features import compute_features
from stockfeatures.features.panel import PricePanel
from tests.unit.features.synthetic_bars import SESSIONS, random_walk_bars


def _reference_beta(stock: pd.DataFrame, bench: pd.DataFrame, window: int = 60) -> pd.Series:
    """Plain loop: r_i = c_i / c_{i-1} - 1 over the stock's own bars, benchmark return over the
    SAME two sessions; beta = cov / var (ddof=1) over the last `window` pairs, all present."""
    bench_close = dict(zip(bench["session"], bench["close"], strict=True))
    sessions, closes = list(stock["session"]), list(stock["close"])
    pairs: list[tuple[float, float] | None] = [None]
    for i in range(1, len(sessions)):
        b_now, b_before = bench_close.get(sessions[i]), bench_close.get(sessions[i - 1])
        if b_now is None or b_before is None:
            pairs.append(None)
            continue
        pairs.append((closes[i] / closes[i - 1] - 1.0, b_now / b_before - 1.0))
    betas = []
    for i in range(len(sessions)):
        last = pairs[max(i - window + 1, 0): i + 1]
        if i < window or any(p is None for p in last):
            betas.append(np.nan)
            continue
        x = np.array([p[0] for p in last])
        y = np.array([p[1] for p in last])
        cov = ((x - x.mean()) * (y - y.mean())).sum() / (window - 1)
        var = ((y - y.mean()) ** 2).sum() / (window - 1)
        betas.append(cov / var)
    return pd.Series(betas, index=stock.index)


def test_beta_after_a_missing_session_pairs_returns_over_the_same_interval():
    bench = random_walk_bars("SPY", SESSIONS[:200], seed=3, daily_vol=0.01, start_price=400.0)
    gappy = random_walk_bars("GAP", SESSIONS[:200].delete([90]), seed=4)
    features = compute_features(pd.concat([bench, gappy], ignore_index=True), benchmark="SPY")
    computed = features[features["ticker"] == "GAP"]["beta_60d"].to_numpy()
    expected = _reference_beta(gappy.reset_index(drop=True), bench).to_numpy()
    np.testing.assert_allclose(computed, expected, rtol=0, atol=1e-12, equal_nan=True)
    # The return across the gap is a two-session return on both sides, so beta stays defined.
    assert np.isfinite(computed[90:]).all()


def test_beta_is_nan_where_the_benchmark_has_no_bar_on_either_end_of_the_interval():
    bench = random_walk_bars("SPY", SESSIONS[:200].delete([120]), seed=3, daily_vol=0.01,
                             start_price=400.0)
    stock = random_walk_bars("AAA", SESSIONS[:200], seed=5)
    features = compute_features(pd.concat([bench, stock], ignore_index=True), benchmark="SPY")
    computed = features[features["ticker"] == "AAA"]["beta_60d"].to_numpy()
    expected = _reference_beta(stock, bench).to_numpy()
    np.testing.assert_allclose(computed, expected, rtol=0, atol=1e-12, equal_nan=True)
    assert np.isnan(computed[120:181]).all() and np.isfinite(computed[181:]).all()


def test_warm_up_of_beta_counts_sessions_shared_with_the_benchmark():
    """A stock listed long before its benchmark: beta is defined 61 shared sessions after the
    benchmark's first bar, and the overlap count says exactly where that is."""
    stock = random_walk_bars("OLD", SESSIONS[:400], seed=6)
    bench = random_walk_bars("SPY", SESSIONS[150:400], seed=7, daily_vol=0.01, start_price=400.0)
    bars = pd.concat([stock, bench], ignore_index=True)
    from stockfeatures.features.functions import benchmark_overlap

    panel = PricePanel.from_bars(bars, benchmark="SPY")
    overlap = pd.Series(benchmark_overlap(panel), index=panel.index)
    features = compute_features(bars, benchmark="SPY")
    old = panel.rows["ticker"] == "OLD"
    assert overlap[old].iloc[149] == 0 and overlap[old].iloc[150] == 1
    assert overlap[old].iloc[399] == 250
    beta = features.loc[old.to_numpy(), "beta_60d"].to_numpy()
    defined = overlap[old].to_numpy() >= 61
    assert np.isfinite(beta[defined]).all() and np.isnan(beta[~defined]).all()
