"""Typed serving errors; the HTTP layer maps each to a status code with its message."""

from __future__ import annotations

from stockfeatures.retrieval import UnknownFeature


class BadRequest(ValueError):
    """The request itself is wrong (HTTP 4xx); the message names the problem."""


class BatchTooLarge(BadRequest):
    """More tickers in one request than STOCKFEATURES_SERVING_MAX_BATCH (or none at all)."""


class UnknownService(UnknownFeature):
    """The requested feature service is not in the registry (HTTP 404, kind unknown_feature_service)."""


class BodyTooLarge(BadRequest):
    """The request body is larger than STOCKFEATURES_SERVING_MAX_BODY_BYTES (HTTP 413)."""


class ServingUnavailable(RuntimeError):
    """Neither the online store nor the warehouse could answer (HTTP 503)."""
