"""Typed serving errors; the HTTP layer maps each to a status code with its message."""

from __future__ import annotations


class BadRequest(ValueError):
    """The request itself is wrong (HTTP 4xx); the message names the problem."""


class BatchTooLarge(BadRequest):
    """More tickers in one request than STOCKFEATURES_SERVING_MAX_BATCH (or none at all)."""


class ServingUnavailable(RuntimeError):
    """Neither the online store nor the warehouse could answer (HTTP 503)."""
