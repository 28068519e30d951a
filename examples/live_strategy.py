"""A live momentum strategy reading features the way production code would.

Reads the momentum_v1 service for the universe through the serving layer (fresh values
from Redis, lazily filled on a miss, from the warehouse if Redis is down), ranks tickers
by 12-1 momentum, and prints volatility-scaled long-only target weights for the top names.

    STOCKFEATURES_PROFILE=prod .venv/bin/python examples/live_strategy.py --top 5
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from stockfeatures.config import load_settings
from stockfeatures.features.spec import MOMENTUM_SERVICE
from stockfeatures.profiles import open_warehouse
from stockfeatures.serving import open_feature_server


def target_weights(features: pd.DataFrame, top: int) -> pd.Series:
    """Top `top` tickers by mom_12_1, weighted by inverse 20-day volatility, summing to 1.

    Only fresh rows are traded: a stale value means the pipeline missed a session, and a
    strategy should not act on yesterday's signal as if it were today's.
    """
    usable = features[(features["status"] == "fresh")].dropna(subset=["mom_12_1", "vol_20d"])
    usable = usable[usable["vol_20d"] > 0]
    chosen = usable.nlargest(top, "mom_12_1")
    inverse_vol = 1.0 / chosen.set_index("ticker")["vol_20d"]
    return (inverse_vol / inverse_vol.sum()).rename("weight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=10, help="number of names to hold")
    parser.add_argument("--tickers", nargs="+", help="universe (default: every stored ticker)")
    parser.add_argument("--now", type=pd.Timestamp,
                        help="replay as of this UTC instant (e.g. 2025-07-01T15:00Z) for sample data")
    args = parser.parse_args()

    settings = load_settings()
    universe = args.tickers or open_warehouse(settings).tickers()
    if args.now is not None:
        now = args.now.tz_localize("UTC") if args.now.tzinfo is None else args.now
        server = open_feature_server(settings, clock=lambda: now.to_pydatetime())
    else:
        server = open_feature_server(settings)
    response = server.get_features(universe, service=MOMENTUM_SERVICE)
    features = response.to_frame()

    weights = target_weights(features, args.top)
    board = features.set_index("ticker").join(weights).sort_values("mom_12_1", ascending=False)
    sources = pd.Series([",".join(sorted(item.sources)) or "-" for item in response.tickers],
                        index=[item.ticker for item in response.tickers], name="source")
    board = board.join(sources)
    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 120):
        print(board[["status", "source", "mom_12_1", "vol_20d", "weight"]].fillna({"weight": 0.0}))
    print(f"\n{len(weights)} positions, gross weight {weights.sum():.2f}, "
          f"{int(np.sum(features['status'] != 'fresh'))} tickers not fresh (not traded)")


if __name__ == "__main__":
    main()
