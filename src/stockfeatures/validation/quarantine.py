"""Rejected rows go to the warehouse's quarantine with their reason; never dropped silently."""

from __future__ import annotations

from stockfeatures.storage.warehouse import Warehouse
from stockfeatures.validation.gate import GateResult


def quarantine_rejects(warehouse: Warehouse, stage: str, result: GateResult) -> int:
    """Store every rejected row (payload = the row) under `stage`; returns rows stored."""
    if result.rejected.empty:
        return 0
    rows = result.rejected.drop(columns=["reason"])
    return warehouse.quarantine(stage, rows, result.rejected["reason"].reset_index(drop=True))
