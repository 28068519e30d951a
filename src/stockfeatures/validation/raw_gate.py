"""The raw-bars gate: the raw_prices suite, with rejection from the bad session on.

Granularity (docs/data-integrity.md): a rejected bar goes to quarantine with its rule; the
same ticker's LATER bars in the batch are withheld with it (quarantined, reason names the
bad session), its earlier bars and every other ticker load. A later bar's features depend
on the bars before it, so storing them across a hole would compute returns, volatility and
momentum over a silent gap; instead the ticker's stored history ends at its last good bar,
which freshness and the run report show. A rejected row that carries no usable session
withholds the ticker's whole batch (the hole could be anywhere).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from stockfeatures import trading_calendar
from stockfeatures.validation import gx_runtime, suites
from stockfeatures.validation.errors import ExpectationOutcome
from stockfeatures.validation.gate import GateResult, _row_reasons
from stockfeatures.validation.prepare import HELPER_COLUMNS, prepare_raw

SOURCE_CHECKS = ExpectationOutcome("refused by the price source (row-level checks)", "source checks",
                                   "row", False, 0)


def withheld_reason(first_bad: pd.Timestamp | None) -> str:
    if first_bad is None or pd.isna(first_bad):
        return ("withheld: a row of this ticker in this batch has no usable session, so every "
                "bar of it waits (no history with a hole)")
    return (f"withheld: an earlier bar of this ticker ({pd.Timestamp(first_bad).date()}) was "
            "rejected; later bars wait so the stored history has no hole")


def first_bad_sessions(rejected: pd.DataFrame) -> dict[str, pd.Timestamp | None]:
    """ticker -> earliest rejected session (None: some rejected row of it has no session).

    A row dated before the calendar's first session is left out: it cannot be stored under
    any rule, and its absence truncates the history's start rather than punching a hole.
    """
    if rejected.empty or "ticker" not in rejected:
        return {}
    sessions = pd.to_datetime(rejected["session"], errors="coerce") if "session" in rejected \
        else pd.Series(pd.NaT, index=rejected.index)
    if isinstance(sessions.dtype, pd.DatetimeTZDtype):
        before_window = pd.Series(False, index=sessions.index)
    else:
        before_window = (sessions < trading_calendar.calendar_window()[0]).fillna(False)
    firsts: dict[str, pd.Timestamp | None] = {}
    for ticker, group in sessions[~before_window].groupby(rejected.loc[~before_window, "ticker"].astype(str)):
        firsts[ticker] = None if group.isna().any() else group.min()
    return firsts


def withhold_after(bars: pd.DataFrame, firsts: dict[str, pd.Timestamp | None]) -> np.ndarray:
    """Mask of bars on or after their ticker's first bad session (all of it for None)."""
    mask = np.zeros(len(bars), dtype=bool)
    if not firsts or bars.empty:
        return mask
    sessions = pd.to_datetime(bars["session"], errors="coerce")
    for ticker, first in firsts.items():
        mine = (bars["ticker"] == ticker).to_numpy(dtype=bool)
        mask |= mine if first is None else mine & (sessions >= first).to_numpy(dtype=bool)
    return mask


def gate_raw_bars(bars: pd.DataFrame, source_rejects: pd.DataFrame | None = None) -> GateResult:
    """Run the raw_prices suite on bars about to be written.

    `source_rejects`: rows the source already refused (ticker, session, reason); they withhold
    their ticker's later bars like a failing expectation and appear in `rejected` after the
    suite's rows, so one GateResult reports the whole batch.
    """
    started = time.perf_counter()
    frame = bars.drop(columns=[c for c in HELPER_COLUMNS if c in bars.columns]).reset_index(drop=True)
    outcomes = gx_runtime.run_suite(prepare_raw(frame), suites.build_suite(
        suites.suite_document(suites.RAW_SUITE))) if len(frame) else []
    failures = tuple(o for o in outcomes if not o.success)
    reasons = _row_reasons(frame, failures)
    bad = np.zeros(len(frame), dtype=bool)
    bad[reasons.index.to_numpy(dtype=int)] = True
    earlier = source_rejects if source_rejects is not None else pd.DataFrame(columns=["ticker", "session"])
    parts = [part for part in (frame.loc[bad, ["ticker", "session"]],
                               earlier.reindex(columns=["ticker", "session"])) if len(part)]
    firsts = first_bad_sessions(pd.concat(parts, ignore_index=True)) if parts else {}
    withheld = withhold_after(frame, firsts) & ~bad
    reason = pd.Series([withheld_reason(firsts.get(t)) for t in frame["ticker"]], index=frame.index,
                       dtype=object) if withheld.any() else pd.Series("", index=frame.index, dtype=object)
    reason[reasons.index] = reasons
    rejected = frame[bad | withheld].assign(reason=reason[bad | withheld])
    if earlier is not None and len(earlier):
        rejected = pd.concat([rejected, earlier.set_axis(range(len(frame), len(frame) + len(earlier)))])
        failures = (*failures, ExpectationOutcome(
            SOURCE_CHECKS.rule, SOURCE_CHECKS.expectation, SOURCE_CHECKS.columns, False, len(earlier),
            tuple(range(len(frame), len(frame) + len(earlier)))))
    return GateResult(
        suite=suites.RAW_SUITE, accepted=frame[~(bad | withheld)].reset_index(drop=True), rejected=rejected,
        outcomes=tuple(outcomes), checked=len(frame) + len(earlier), seconds=time.perf_counter() - started,
        failures=failures,
    )
