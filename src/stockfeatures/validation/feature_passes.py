"""Compute and validate feature rows in two passes, so nothing stored comes from a rejected row.

beta_60d and mom_12_1_rank read other tickers' rows. Validating after one computation would
store ranks and betas computed from rows that then went to quarantine (issue 10, finding 4).
So:

1. every feature is computed from the stored bars; the per-ticker features are validated
   (the features_daily suite without its cross-sectional expectations);
2. the cross-sectional features are recomputed on the same panel with the rejected rows
   marked unusable (they neither get a rank nor shift anyone's, and a rejected benchmark
   row pairs with no one's return), and their expectations validate what is left (the
   other columns are unchanged since pass 1).

A cross-sectional value never feeds another row's cross-sectional value, so a row rejected
in pass 2 changes nothing that was accepted. Validation is row by row (ticker, session):
one bad value rejects that row, not the ticker's history (docs/data-integrity-features.md).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from stockfeatures.features import feature_rows
from stockfeatures.features.functions import benchmark_overlap
from stockfeatures.features.panel import PricePanel
from stockfeatures.features.spec import FEATURES
from stockfeatures.validation.errors import ExpectationOutcome
from stockfeatures.validation.gate import GateResult, gate_features
from stockfeatures.validation.prepare import BENCHMARK_OVERLAP, HISTORY_LENGTH

CROSS_SECTIONAL = tuple(spec for spec in FEATURES if spec.cross_sectional)


def _with_helpers(features: pd.DataFrame, panel: PricePanel) -> pd.DataFrame:
    """features (row i = panel row i) plus the suite's helper columns. A row's own history
    is its observation number + 1: the panel counts each ticker's bars in session order,
    exactly what prepare.history_lengths counts with a sort of the whole frame (2 s at 3.5 M)."""
    features[HISTORY_LENGTH] = panel.observation + 1
    features[BENCHMARK_OVERLAP] = benchmark_overlap(panel)
    return features


def _in_window(panel: PricePanel, start: date | None) -> np.ndarray:
    """Rows on or after session `start`; earlier rows are history only. Compared on the bars'
    session dates (a feature row's event_timestamp is its session's close), not on dates
    converted from timestamps row by row (0.9 s at 3.5 M rows)."""
    if start is None:
        return np.ones(len(panel.rows), dtype=bool)
    return panel.rows["session"].to_numpy() >= np.datetime64(start, "ns")


def _shift(outcomes: tuple[ExpectationOutcome, ...], positions: np.ndarray) -> list[ExpectationOutcome]:
    """Outcomes of a gate run on a subset, with row numbers mapped back to the whole batch."""
    return [ExpectationOutcome(o.rule, o.expectation, o.columns, o.success, o.unexpected_count,
                               tuple(int(positions[row]) for row in o.rows), o.error)
            for o in outcomes]


def _merged(first: list[ExpectationOutcome], second: list[ExpectationOutcome]) -> tuple[ExpectationOutcome, ...]:
    merged: dict[tuple, ExpectationOutcome] = {}
    for outcome in [*first, *second]:
        key = (outcome.rule, outcome.expectation, outcome.columns)
        known = merged.get(key)
        if known is not None:
            outcome = ExpectationOutcome(known.rule, known.expectation, known.columns, False,
                                         known.unexpected_count + outcome.unexpected_count,
                                         known.rows + outcome.rows, known.error or outcome.error)
        merged[key] = outcome
    return tuple(merged.values())


def gate_feature_passes(bars: pd.DataFrame, benchmark: str, start: date | None = None) -> GateResult:
    """Feature rows for sessions from `start` on, validated in two passes (module docstring).

    bars: adjusted bars, including the MAX_LOOKBACK history before `start`. The result's
    `accepted` rows are what may be stored; `rejected` (with `reason`) is for the quarantine;
    row numbers in `failures` and the rejected frame's index are positions among the rows
    from `start` on, in (ticker, event_timestamp) order.
    """
    panel = PricePanel.from_bars(bars, benchmark=benchmark)
    features = _with_helpers(feature_rows(panel), panel)
    window = _in_window(panel, start)
    positions = np.flatnonzero(window)
    candidates = features.iloc[positions].reset_index(drop=True)
    # `candidates` is this function's own frame and pass 1 keeps no accepted rows: no copies.
    first = gate_features(candidates, cross_sectional=False, copy=False)

    usable = np.ones(len(features), dtype=bool)
    usable[positions[first.rejected.index.to_numpy(dtype=int)]] = False
    screened = panel.with_usable(usable)
    for spec in CROSS_SECTIONAL:
        candidates[spec.name] = spec.compute(screened).astype("float64").to_numpy()[positions]
    candidates[BENCHMARK_OVERLAP] = benchmark_overlap(screened)[positions]

    kept = np.setdiff1d(np.arange(len(candidates)), first.rejected.index.to_numpy(dtype=int))
    # Pass 1 settled every other column, and pass 2 changes only the cross-sectional ones.
    # All rows passed pass 1 in the usual case: then no million-row selection (a copy).
    screened_rows = candidates if len(kept) == len(candidates) else candidates.iloc[kept]
    second = gate_features(screened_rows, per_ticker=False, copy=False)
    second_rejected = second.rejected.set_axis(kept[second.rejected.index.to_numpy(dtype=int)])
    rejected = pd.concat([first.rejected, second_rejected]).sort_index()
    failures = _merged(list(first.failures), _shift(second.failures, kept))
    return GateResult(
        suite=second.suite, accepted=second.accepted, rejected=rejected,
        outcomes=(*first.outcomes, *second.outcomes), checked=len(candidates),
        seconds=first.seconds + second.seconds, failures=failures,
    )

