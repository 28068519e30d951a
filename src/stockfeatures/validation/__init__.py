"""Great Expectations gates: suites in expectations/, typed ValidationFailed, quarantine.

    result = gate_raw_bars(bars)           # or gate_features(features)
    quarantine_rejects(warehouse, "raw_prices", result)
    warehouse.write_bars(result.accepted)
    result.raise_if_failed()               # ValidationFailed names the expectations and rows
"""

from stockfeatures.validation.errors import ExpectationOutcome, ValidationFailed
from stockfeatures.validation.gate import GateResult, gate_features
from stockfeatures.validation.quarantine import quarantine_rejects
from stockfeatures.validation.raw_gate import gate_raw_bars

__all__ = [
    "ExpectationOutcome",
    "GateResult",
    "ValidationFailed",
    "gate_features",
    "gate_raw_bars",
    "quarantine_rejects",
]
