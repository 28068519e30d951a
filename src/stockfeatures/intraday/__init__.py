"""The intraday tier: 5-minute bars known at their end, features pushed online within the bar.

    source = get_intraday_source("sample")            # or "csv" (path=...), "yfinance"
    batch = source.fetch(tickers, start, end, as_of=now)   # IntradayBatch: bars + accounting
    features = compute_intraday_features(batch.bars)   # the features_intraday frame
    latest = latest_intraday_features(history, ended_after=previous_cycle)  # one cycle's rows
    gate = gate_intraday_features(latest, bars=history)    # GX suite derived from the spec

spec.py is this tier's FeatureSpec (one list that schema, computation, validation and docs
derive from), session_clock.py the 5-minute slots and the "has this bar ended" rule,
normalize.py the bar rules, grid.py + functions.py the vectorized math, compute.py the
full and per-cycle computation with knowledge times, validation.py the derived suite.
Submodules are imported lazily by these names so `import stockfeatures.intraday` stays cheap.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "IntradayBatch": "source", "IntradaySource": "source", "get_intraday_source": "source",
    "register_intraday_source": "source", "intraday_source_names": "source",
    "split_intraday_bars": "normalize", "NOT_YET_ENDED": "normalize",
    "compute_intraday_features": "compute", "latest_intraday_features": "compute",
    "history_start": "compute", "gate_intraday_features": "validation",
    "bound_violations": "validation", "has_ended": "session_clock", "session_slots": "session_clock",
    "bar_end": "session_clock",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'stockfeatures.intraday' has no attribute {name!r}")
    return getattr(importlib.import_module(f"stockfeatures.intraday.{_EXPORTS[name]}"), name)
