"""Every feature equals an independent reference: `ta` for rsi_14 and natr_14, and a plain
per-ticker loop (written here, not calling stockfeatures' functions) for the others."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest
import ta

from stockfeatures.features import compute_features
from stockfeatures.features.spec import FEATURES
from tests.unit.features.synthetic_bars import several_tickers

NAN = float("nan")


# ---- plain references over one ticker's arrays (index = the ticker's own bar number) ----

def ref_return(close, n):
    return [close[t] / close[t - n] - 1 if t >= n else NAN for t in range(len(close))]


def ref_volatility(close, n):
    out = []
    for t in range(len(close)):
        if t < n:
            out.append(NAN)
            continue
        logs = [math.log(close[i] / close[i - 1]) for i in range(t - n + 1, t + 1)]
        out.append(statistics.stdev(logs) * math.sqrt(252))
    return out


def ref_momentum(close):
    return [close[t - 21] / close[t - 252] - 1 if t >= 252 else NAN for t in range(len(close))]


def ref_ma_gap(close):
    return [
        close[t] / statistics.fmean(close[t - 19: t + 1]) - 1 if t >= 19 else NAN
        for t in range(len(close))
    ]


def ref_volume_z(volume):
    out = []
    for t in range(len(volume)):
        window = list(volume[t - 19: t + 1]) if t >= 19 else []
        if not window or min(window) == max(window):
            out.append(NAN)
        else:
            out.append((volume[t] - statistics.fmean(window)) / statistics.stdev(window))
    return out


def ref_drawdown(close):
    return [close[t] / max(close[t - 251: t + 1]) - 1 if t >= 251 else NAN for t in range(len(close))]


def ref_gap(open_, close):
    return [open_[t] / close[t - 1] - 1 if t >= 1 else NAN for t in range(len(close))]


def ref_dollar_volume(raw_close, raw_volume):
    traded = [c * v for c, v in zip(raw_close, raw_volume, strict=True)]
    return [statistics.fmean(traded[t - 19: t + 1]) if t >= 19 else NAN for t in range(len(traded))]


def ref_beta(close, sessions, benchmark_close_on):
    """benchmark_close_on: {session: the benchmark's close}. Each of the ticker's returns is
    paired with the benchmark's return over the same two sessions (issue 10, finding 3)."""
    out = []
    for t in range(len(close)):
        if t < 60:
            out.append(NAN)
            continue
        own = [close[i] / close[i - 1] - 1 for i in range(t - 59, t + 1)]
        bench = [benchmark_close_on.get(sessions[i], NAN) / benchmark_close_on.get(sessions[i - 1], NAN) - 1
                 for i in range(t - 59, t + 1)]
        if any(math.isnan(b) for b in bench):
            out.append(NAN)
        else:
            out.append(statistics.covariance(own, bench) / statistics.variance(bench))
    return out


def ref_rsi(close):
    values = ta.momentum.RSIIndicator(pd.Series(close), window=14).rsi().to_numpy()
    values[:14] = NAN  # 14 price changes (15 bars) before the first value
    return values


def ref_natr(high, low, close):
    if len(close) < 14:
        return np.full(len(close), NAN)
    atr = ta.volatility.AverageTrueRange(
        pd.Series(high), pd.Series(low), pd.Series(close), window=14
    ).average_true_range().to_numpy()
    natr = atr / np.asarray(close)
    natr[:13] = NAN  # ta reports 0 during warm-up
    return natr


def ref_percentile_rank(values_by_ticker):
    """{ticker: value} on one session -> {ticker: (average rank) / count} among non-NaN."""
    present = {k: v for k, v in values_by_ticker.items() if not math.isnan(v)}
    ranks = {}
    for key, value in present.items():
        below = sum(1 for other in present.values() if other < value)
        equal = sum(1 for other in present.values() if other == value)
        ranks[key] = (below + (equal + 1) / 2) / len(present)
    return ranks


def reference_features(bars: pd.DataFrame, benchmark: str = "SPY") -> pd.DataFrame:
    frames = []
    bench = bars[bars["ticker"] == benchmark].sort_values("session")
    benchmark_close_on = dict(zip(bench["session"], bench["close"], strict=True))
    for ticker, one in bars.groupby("ticker"):
        one = one.sort_values("session")
        c, o, h, lo = (one[k].tolist() for k in ("close", "open", "high", "low"))
        sessions = one["session"].tolist()
        frames.append(pd.DataFrame({
            "ticker": ticker,
            "session": sessions,
            "ret_1d": ref_return(c, 1),
            "ret_5d": ref_return(c, 5),
            "ret_20d": ref_return(c, 20),
            "vol_20d": ref_volatility(c, 20),
            "vol_60d": ref_volatility(c, 60),
            "mom_12_1": ref_momentum(c),
            "ma_gap_20d": ref_ma_gap(c),
            "rsi_14": ref_rsi(c),
            "natr_14": ref_natr(h, lo, c),
            "volume_z_20": ref_volume_z(one["volume"].tolist()),
            "drawdown_252": ref_drawdown(c),
            "gap_1d": ref_gap(o, c),
            "beta_60d": ref_beta(c, sessions, benchmark_close_on),
            "dollar_volume_20d": ref_dollar_volume(one["raw_close"].tolist(), one["raw_volume"].tolist()),
        }))
    expected = pd.concat(frames, ignore_index=True)
    ranks = {}
    for session, group in expected.groupby("session"):
        for ticker, rank in ref_percentile_rank(dict(zip(group["ticker"], group["mom_12_1"], strict=True))).items():
            ranks[(ticker, session)] = rank
    expected["mom_12_1_rank"] = [
        ranks.get((t, s), NAN) for t, s in zip(expected["ticker"], expected["session"], strict=True)
    ]
    return expected


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return several_tickers(seed=11)


@pytest.fixture(scope="module")
def computed(bars) -> pd.DataFrame:
    return compute_features(bars, benchmark="SPY")


@pytest.fixture(scope="module")
def expected(bars) -> pd.DataFrame:
    return reference_features(bars, benchmark="SPY")


def test_output_has_one_row_per_bar_in_ticker_then_time_order(bars, computed):
    assert len(computed) == len(bars)
    keys = list(zip(computed["ticker"], computed["event_timestamp"], strict=True))
    assert keys == sorted(keys)
    assert list(computed.columns) == ["ticker", "event_timestamp", "created_timestamp"] + [
        spec.name for spec in FEATURES
    ]
    assert all(computed[spec.name].dtype == "float64" for spec in FEATURES)
    assert str(computed["event_timestamp"].dtype) == "datetime64[ns, UTC]"


@pytest.mark.parametrize("name", [spec.name for spec in FEATURES])
def test_feature_matches_independent_reference(name, computed, expected):
    ours = computed.set_index(["ticker", "event_timestamp"])[name].to_numpy()
    theirs = expected[name].to_numpy(dtype="float64")
    # Both sides are in (ticker, session) order; check that before comparing values.
    assert list(computed["ticker"]) == list(expected["ticker"])
    assert np.array_equal(np.isnan(ours), np.isnan(theirs)), f"{name}: NaN pattern differs"
    assert np.isfinite(ours).sum() > 0, f"{name}: nothing defined in the test data"
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_benchmark_beta_to_itself_is_exactly_one(computed):
    spy = computed.loc[computed["ticker"] == "SPY", "beta_60d"].dropna()
    assert len(spy) > 0
    assert (spy == 1.0).all()
