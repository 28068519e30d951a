"""Clients for strategies: typed feature reads over HTTP (sync, async) or in process.

    from stockfeatures.client import FeatureClient
    with FeatureClient("http://127.0.0.1:6566") as client:
        features = client.get_features("AAPL", ["ret_1d", "vol_20d"])
        if features["vol_20d"].is_fresh: ...

Heavy imports stay out of this module: the HTTP clients need only httpx and tenacity.
"""

from stockfeatures.client.http import AsyncFeatureClient, ClientOptions, FeatureClient
from stockfeatures.client.results import (
    Feature,
    FeatureClientError,
    FeaturesUnavailable,
    TickerFeatures,
)

__all__ = [
    "AsyncFeatureClient",
    "ClientOptions",
    "Feature",
    "FeatureClient",
    "FeatureClientError",
    "FeaturesUnavailable",
    "InProcessFeatures",
    "TickerFeatures",
]


def __getattr__(name: str):
    if name == "InProcessFeatures":  # imports the serving stack (Feast): only when asked
        from stockfeatures.client.in_process import InProcessFeatures

        return InProcessFeatures
    raise AttributeError(name)
