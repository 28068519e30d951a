"""The gates between stages: validate a batch, split it into accepted and rejected rows.

Granularity differs by stage. Raw bars (validation.raw_gate): a bad bar also withholds its
ticker's later bars in the batch, so a stored history has no hole. Feature rows (here): one
row per ticker and session is the unit; a failing row is rejected alone and the ticker's
other rows go on (docs/data-integrity-features.md says why). Nothing is dropped silently: `rejected` is what
goes to quarantine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stockfeatures.validation import feature_suite, gx_runtime, suites
from stockfeatures.validation.errors import ExpectationOutcome, ValidationFailed
from stockfeatures.validation.prepare import HELPER_COLUMNS, positional, prepare_features


@dataclass(frozen=True)
class GateResult:
    suite: str
    accepted: pd.DataFrame
    rejected: pd.DataFrame  # input columns + `reason`
    outcomes: tuple[ExpectationOutcome, ...]
    checked: int
    seconds: float
    failures: tuple[ExpectationOutcome, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return self.rejected.empty

    @property
    def rejected_tickers(self) -> list[str]:
        return sorted(self.rejected["ticker"].dropna().astype(str).unique()) if len(self.rejected) else []

    @classmethod
    def combine(cls, results: list[GateResult]) -> GateResult:
        """One verdict over several batches of the same suite (a chunked backfill)."""
        if not results:
            raise ValueError("nothing to combine")
        failures: dict[tuple, ExpectationOutcome] = {}
        offset = 0
        for result in results:
            for outcome in result.failures:
                key = (outcome.rule, outcome.expectation, outcome.columns)
                shifted = tuple(offset + row for row in outcome.rows)
                if key in failures:
                    known = failures[key]
                    shifted = known.rows + shifted
                    outcome = ExpectationOutcome(known.rule, known.expectation, known.columns, False,
                                                 known.unexpected_count + outcome.unexpected_count,
                                                 shifted, known.error or outcome.error)
                else:
                    outcome = ExpectationOutcome(outcome.rule, outcome.expectation, outcome.columns,
                                                 False, outcome.unexpected_count, shifted, outcome.error)
                failures[key] = outcome
            offset += result.checked
        rejected = [r.rejected.set_axis(r.rejected.index + sum(x.checked for x in results[:i]))
                    for i, r in enumerate(results)]
        return cls(
            suite=results[0].suite,
            accepted=pd.concat([r.accepted for r in results], ignore_index=True),
            rejected=pd.concat(rejected),
            outcomes=max((r.outcomes for r in results), key=len),
            checked=offset,
            seconds=sum(r.seconds for r in results),
            failures=tuple(failures.values()),
        )

    def error(self) -> ValidationFailed | None:
        if self.passed:
            return None
        return ValidationFailed(self.suite, self.failures, self.rejected, self.checked)

    def raise_if_failed(self) -> None:
        error = self.error()
        if error is not None:
            raise error

    def summary(self) -> dict:
        """Numbers for a run report: one entry per expectation plus totals."""
        return {
            "suite": self.suite,
            "rows_checked": self.checked,
            "rows_accepted": len(self.accepted),
            "rows_rejected": len(self.rejected),
            "rejected_tickers": self.rejected_tickers,
            "expectations": len(self.outcomes),
            "failed_expectations": [
                {"rule": o.rule, "expectation": o.expectation, "columns": o.columns,
                 "unexpected": o.unexpected_count, "error": o.error}
                for o in self.failures
            ],
            "seconds": round(self.seconds, 3),
        }


def _row_reasons(frame: pd.DataFrame, failures: tuple[ExpectationOutcome, ...]) -> pd.Series:
    reasons: dict[int, list[str]] = {}
    everything = range(len(frame))
    for outcome in failures:
        # An expectation that crashed (e.g. a missing column) condemns the whole batch.
        for row in (everything if outcome.error else outcome.rows):
            reasons.setdefault(row, []).append(
                outcome.rule if not outcome.error else f"{outcome.rule}: {outcome.error}"
            )
    return pd.Series({row: "; ".join(rules) for row, rules in reasons.items()}, dtype=object)


def _split(suite_name: str, original: pd.DataFrame, prepared: pd.DataFrame,
           outcomes: list[ExpectationOutcome], started: float) -> GateResult:
    """Row by row: a row is rejected for its own failures only (raw bars withhold what follows
    a bad bar in validation.raw_gate)."""
    failures = tuple(o for o in outcomes if not o.success)
    frame = positional(original)  # callers pass a frame of their own (a copy), see gate_rows
    if not failures:  # the usual case: no row to take out, so no second copy of the batch
        return GateResult(
            suite=suite_name, accepted=frame, rejected=frame.iloc[:0].assign(reason=pd.Series(dtype=object)),
            outcomes=tuple(outcomes), checked=len(frame), seconds=time.perf_counter() - started,
            failures=failures,
        )
    reasons = _row_reasons(frame, failures)
    rejected_mask = np.zeros(len(frame), dtype=bool)
    rejected_mask[reasons.index.to_numpy(dtype=int)] = True
    rejected = frame[rejected_mask].assign(reason=reasons.reindex(frame.index[rejected_mask]).to_numpy())
    accepted = frame[~rejected_mask].reset_index(drop=True)
    return GateResult(
        suite=suite_name, accepted=accepted, rejected=rejected, outcomes=tuple(outcomes),
        checked=len(frame), seconds=time.perf_counter() - started, failures=failures,
    )


def _run(suite_name: str, original: pd.DataFrame, prepared: pd.DataFrame, started: float,
         document: dict | None = None) -> GateResult:
    if prepared.empty:
        return _split(suite_name, original, prepared, [], started)
    suite = suites.build_suite(document or suites.suite_document(suite_name))
    outcomes = gx_runtime.run_suite(prepared, suite)
    return _split(suite_name, original, prepared, outcomes, started)


def gate_rows(suite_name: str, original: pd.DataFrame, prepared: pd.DataFrame, started: float,
              document: dict | None = None) -> GateResult:
    """Row-by-row gate for any suite: `prepared` is `original` plus the helper columns its
    expectations read (same rows, same order); accepted/rejected rows come from `original`."""
    # `original` is copied: the accepted rows must not share memory with the caller's frame.
    return _run(suite_name, original.reset_index(drop=True), positional(prepared), started, document)


def _without_helpers(frame: pd.DataFrame, copy: bool = True) -> pd.DataFrame:
    """`frame` less the helper columns; copy=False shares the other columns with `frame`
    (a million-row drop copied every column: 0.6 s of a compute window's gate)."""
    if copy:
        return frame.drop(columns=[c for c in HELPER_COLUMNS if c in frame.columns])
    return pd.DataFrame({c: frame[c] for c in frame.columns if c not in HELPER_COLUMNS}, copy=False)


def gate_features(features: pd.DataFrame, cross_sectional: bool = True,
                  per_ticker: bool = True, copy: bool = True) -> GateResult:
    """Run the features_daily suite, row by row; `features` may carry history_length and
    benchmark_overlap columns (dropped from the accepted rows), otherwise they are counted
    from the frame itself. cross_sectional=False checks only the per-ticker features (the
    first pass of validation.feature_passes); per_ticker=False only the cross-sectional ones
    (its second pass). copy=False lets the accepted rows share memory with `features`, for a
    caller that owns that frame and writes nothing into it afterwards (feature_passes)."""
    started = time.perf_counter()
    prepared = prepare_features(features)
    document = feature_suite.suite_document(cross_sectional=cross_sectional, per_ticker=per_ticker)
    return _run(suites.FEATURES_SUITE, _without_helpers(prepared, copy), prepared, started, document)
