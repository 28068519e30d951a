"""Online serving: read-through over Feast with freshness, lazy fill, locks and fallback.

    from stockfeatures.serving import open_feature_server
    server = open_feature_server(load_settings())
    response = server.get_features(["AAPL", "MSFT"], service="momentum_v1")
"""

from stockfeatures.serving.errors import BadRequest, BatchTooLarge, ServingUnavailable
from stockfeatures.serving.factory import open_feature_server
from stockfeatures.serving.response import FeatureResponse, FeatureValue, TickerFeatures
from stockfeatures.serving.server import FeatureServer
from stockfeatures.serving.warm_up import warm_up

__all__ = [
    "BadRequest",
    "BatchTooLarge",
    "FeatureResponse",
    "FeatureServer",
    "FeatureValue",
    "ServingUnavailable",
    "TickerFeatures",
    "open_feature_server",
    "warm_up",
]
