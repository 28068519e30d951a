"""A live momentum strategy reading features the way production code would.

Reads the momentum_v1 service for the universe from the feature server through
stockfeatures.client (pooled connection, timeouts, retries on 503, typed values with
status, age and source), ranks tickers by 12-1 momentum, and prints volatility-scaled
long-only target weights for the top names. A value that is not fresh is not traded.

    infra/serve.sh &                                   # the server (profile from the env)
    .venv/bin/python examples/live_strategy.py --top 5 --tickers AAPL MSFT NVDA SPY

--in-process reads without HTTP through the plan's async API (InProcessFeatures), and
--now replays an instant for sample data (in-process only).
"""

from __future__ import annotations

import argparse
import asyncio

import pandas as pd

from stockfeatures.client import FeatureClient, TickerFeatures
from stockfeatures.features.spec import MOMENTUM_SERVICE

FEATURES = ["mom_12_1", "vol_20d"]


def frame(results: dict[str, TickerFeatures]) -> pd.DataFrame:
    """One row per ticker: whether every value is fresh, the values, their oldest age and source."""
    rows = []
    for ticker, item in results.items():
        features = [item[name] for name in FEATURES]
        ages = [f.age_s for f in features if f.age_s is not None]
        rows.append({"ticker": ticker, "fresh": all(f.is_fresh for f in features),
                     **{name: item[name].value for name in FEATURES},
                     "age_h": max(ages) / 3600 if ages else float("nan"),
                     "source": ",".join(sorted({f.source for f in features if f.source})) or "-",
                     "tier": item.tier or "-"})
    return pd.DataFrame(rows, columns=["ticker", "fresh", *FEATURES, "age_h", "source", "tier"])


def target_weights(features: pd.DataFrame, top: int) -> pd.Series:
    """Top `top` tickers by mom_12_1, weighted by inverse 20-day volatility, summing to 1.

    Only fresh rows are traded: a stale value means the pipeline missed a session, and a
    strategy should not act on yesterday's signal as if it were today's.
    """
    usable = features[features["fresh"]].dropna(subset=["mom_12_1", "vol_20d"])
    usable = usable[usable["vol_20d"] > 0]
    chosen = usable.nlargest(top, "mom_12_1")
    inverse_vol = 1.0 / chosen.set_index("ticker")["vol_20d"]
    return (inverse_vol / inverse_vol.sum()).rename("weight")


def read_over_http(url: str, universe: list[str]) -> dict[str, TickerFeatures]:
    with FeatureClient(url) as client:
        # The service holds more than this strategy uses; results keep every feature.
        return client.get_many(universe, service=MOMENTUM_SERVICE)


def read_in_process(universe: list[str], now: pd.Timestamp | None) -> dict[str, TickerFeatures]:
    from stockfeatures.client import InProcessFeatures
    from stockfeatures.config import load_settings
    from stockfeatures.serving import open_feature_server

    settings = load_settings()
    if now is not None:
        stamp = now.tz_localize("UTC") if now.tzinfo is None else now
        server = open_feature_server(settings, clock=lambda: stamp.to_pydatetime())
    else:
        server = open_feature_server(settings)
    features = InProcessFeatures(server)

    async def read_all():
        reads = [features.get_features(ticker, FEATURES) for ticker in universe]
        return dict(zip(universe, await asyncio.gather(*reads), strict=True))

    return asyncio.run(read_all())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=10, help="number of names to hold")
    parser.add_argument("--tickers", nargs="+", help="universe (default: the sample universe)")
    parser.add_argument("--url", default="http://127.0.0.1:6566", help="the feature server")
    parser.add_argument("--in-process", action="store_true", help="read without HTTP")
    parser.add_argument("--now", type=pd.Timestamp,
                        help="with --in-process: replay as of this UTC instant (e.g. 2025-07-01T15:00Z)")
    args = parser.parse_args()
    if args.now is not None and not args.in_process:
        parser.error("--now needs --in-process (the server runs on its own clock)")
    if args.tickers:
        universe = [t.upper() for t in args.tickers]
    else:
        from stockfeatures.prices.sample import DEFAULT_TICKERS

        universe = list(DEFAULT_TICKERS)

    results = read_in_process(universe, args.now) if args.in_process else read_over_http(args.url, universe)
    features = frame(results)
    weights = target_weights(features, args.top)
    board = features.set_index("ticker").join(weights).sort_values("mom_12_1", ascending=False)
    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 120):
        print(board.fillna({"weight": 0.0}))
    print(f"\n{len(weights)} positions, gross weight {weights.sum():.2f}, "
          f"{int((~features['fresh']).sum())} tickers not fresh (not traded)")


if __name__ == "__main__":
    main()
