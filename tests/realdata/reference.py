"""Every feature again, written independently of stockfeatures: plain loops per ticker over
its own bars in date order, the formulas as docs/features.md states them.

Nothing here imports stockfeatures.features; the only shared input is the CSV rows.
"""

from __future__ import annotations

import math
import statistics

import pandas as pd

NAN = math.nan


def _ret(c, i, n):
    return c[i] / c[i - n] - 1 if i >= n else NAN


def _annual_vol(c, i, n):
    if i < n:
        return NAN
    logs = [math.log(c[k] / c[k - 1]) for k in range(i - n + 1, i + 1)]
    return statistics.stdev(logs) * math.sqrt(252)


def _rsi(c):
    """Wilder RSI as ta computes it: the first bar's change counts as 0, EWM alpha 1/14 without
    adjustment; defined once 14 real changes exist (the 15th bar)."""
    out, up_avg, down_avg = [], 0.0, 0.0
    for i in range(len(c)):
        change = c[i] - c[i - 1] if i else 0.0
        up, down = max(change, 0.0), max(-change, 0.0)
        if i == 0:
            up_avg, down_avg = up, down
        else:
            up_avg = up_avg * (1 - 1 / 14) + up / 14
            down_avg = down_avg * (1 - 1 / 14) + down / 14
        if i < 14:
            out.append(NAN)
        else:
            out.append(100.0 if down_avg == 0 else 100 - 100 / (1 + up_avg / down_avg))
    return out


def _natr(h, lo, c):
    """ATR(14): mean true range of the first 14 bars (the first bar's is high - low), then
    Wilder's recursion; divided by the close."""
    tr = [h[0] - lo[0]] + [max(h[i] - lo[i], abs(h[i] - c[i - 1]), abs(lo[i] - c[i - 1]))
                           for i in range(1, len(c))]
    out, atr = [], NAN
    for i in range(len(c)):
        if i == 13:
            atr = sum(tr[:14]) / 14
        elif i > 13:
            atr = (atr * 13 + tr[i]) / 14
        out.append(atr / c[i] if i >= 13 else NAN)
    return out


def _volume_z(v, i):
    if i < 19:
        return NAN
    window = v[i - 19: i + 1]
    if max(window) == min(window):
        return NAN
    z = (v[i] - statistics.fmean(window)) / statistics.stdev(window)
    bound = 19 / math.sqrt(20)
    return min(max(z, -bound), bound)


def _beta(c, dates, bench_close, i):
    """cov / var (ddof=1) of the last 60 returns, each against the benchmark's return over
    the same two dates; NaN unless the benchmark has a close on all 61 dates."""
    if i < 60:
        return NAN
    own, bench = [], []
    for k in range(i - 59, i + 1):
        now, before = bench_close.get(dates[k]), bench_close.get(dates[k - 1])
        if now is None or before is None:
            return NAN
        own.append(c[k] / c[k - 1] - 1)
        bench.append(now / before - 1)
    return statistics.covariance(own, bench) / statistics.variance(bench)


def per_ticker(bars: pd.DataFrame, bench_close: dict[str, float]) -> pd.DataFrame:
    """One ticker's features; bars: its CSV rows in date order."""
    o, h, lo, c, v = (bars[k].astype(float).tolist() for k in ("open", "high", "low", "close", "volume"))
    dates = bars["date"].tolist()
    n = len(c)
    rows = {
        "ret_1d": [_ret(c, i, 1) for i in range(n)],
        "ret_5d": [_ret(c, i, 5) for i in range(n)],
        "ret_20d": [_ret(c, i, 20) for i in range(n)],
        "vol_20d": [_annual_vol(c, i, 20) for i in range(n)],
        "vol_60d": [_annual_vol(c, i, 60) for i in range(n)],
        "mom_12_1": [c[i - 21] / c[i - 252] - 1 if i >= 252 else NAN for i in range(n)],
        "ma_gap_20d": [c[i] / statistics.fmean(c[i - 19: i + 1]) - 1 if i >= 19 else NAN for i in range(n)],
        "rsi_14": _rsi(c),
        "natr_14": _natr(h, lo, c),
        "volume_z_20": [_volume_z(v, i) for i in range(n)],
        "drawdown_252": [c[i] / max(c[i - 251: i + 1]) - 1 if i >= 251 else NAN for i in range(n)],
        "gap_1d": [o[i] / c[i - 1] - 1 if i else NAN for i in range(n)],
        "beta_60d": [_beta(c, dates, bench_close, i) for i in range(n)],
        # No splits or dividends in these files: raw and adjusted prices are the same numbers.
        "dollar_volume_20d": [statistics.fmean([c[k] * v[k] for k in range(i - 19, i + 1)]) if i >= 19 else NAN
                              for i in range(n)],
    }
    return pd.DataFrame({"ticker": bars["ticker"].to_numpy(), "date": dates, **rows})


def expected_features(bars: pd.DataFrame, benchmark: str) -> pd.DataFrame:
    """All tickers' features plus mom_12_1_rank: among tickers with a mom_12_1 that date,
    (number below + (number equal + 1) / 2) / count."""
    bench = bars[bars["ticker"] == benchmark]
    bench_close = dict(zip(bench["date"], bench["close"].astype(float), strict=True))
    frames = [per_ticker(one.sort_values("date"), bench_close) for _, one in bars.groupby("ticker")]
    expected = pd.concat(frames, ignore_index=True)
    ranks = []
    by_date = expected.groupby("date")["mom_12_1"].apply(list).to_dict()
    for date, value in zip(expected["date"], expected["mom_12_1"], strict=True):
        if math.isnan(value):
            ranks.append(NAN)
            continue
        peers = [x for x in by_date[date] if not math.isnan(x)]
        below = sum(x < value for x in peers)
        equal = sum(x == value for x in peers)
        ranks.append((below + (equal + 1) / 2) / len(peers))
    expected["mom_12_1_rank"] = ranks
    return expected
