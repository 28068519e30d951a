"""Online serving: read-through over Feast with freshness, lazy fill, locks and fallback.

    from stockfeatures.serving import open_feature_server
    server = open_feature_server(load_settings())
    response = server.get_features(["AAPL", "MSFT"], service="momentum_v1")

The names below are imported on first use (PEP 562 module __getattr__): importing
`stockfeatures.serving.commands` for the CLI's argument parser must not import Feast.
"""

from __future__ import annotations

import sys
import types
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stockfeatures.serving.errors import BadRequest, BatchTooLarge, ServingUnavailable
    from stockfeatures.serving.factory import open_feature_server
    from stockfeatures.serving.response import FeatureResponse, FeatureValue, TickerFeatures
    from stockfeatures.serving.server import FeatureServer
    from stockfeatures.serving.warm_up import warm_up

_HOMES = {
    "BadRequest": "errors",
    "BatchTooLarge": "errors",
    "ServingUnavailable": "errors",
    "open_feature_server": "factory",
    "FeatureResponse": "response",
    "FeatureValue": "response",
    "TickerFeatures": "response",
    "FeatureServer": "server",
    "warm_up": "warm_up",
}

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


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))


class _Package(types.ModuleType):
    """Keeps `serving.warm_up` the function even after the submodule of that name is imported.

    The import system binds a freshly loaded submodule as an attribute of its package; with
    lazy exports that would turn `from stockfeatures.serving import warm_up` into the module
    whenever `stockfeatures.serving.warm_up` was imported first.
    """

    def __setattr__(self, name: str, value) -> None:
        if name in _HOMES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
