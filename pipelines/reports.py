"""What a run shows in the Prefect UI: per-ticker loads and rejects, validation, materialization.

Builders are pure (frames and gate results in, rows and markdown out) so tests can read a
report without a Prefect API; `publish` turns them into artifacts of the current run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from stockfeatures.validation import GateResult

_SHOWN_DATES = 3


@dataclass
class RunSummary:
    """Everything a flow run did, returned by the flow and published as artifacts."""

    flow: str
    tickers: list[dict] = field(default_factory=list)
    validation: list[dict] = field(default_factory=list)
    materialized: dict | None = None
    failures: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures

    def headline(self) -> str:
        if self.skipped:
            return f"{self.flow}: skipped ({'; '.join(self.notes)})"
        if self.ok:
            skipped = [row["ticker"] for row in self.tickers if str(row.get("status", "")).startswith("skipped")]
            text = f"{self.flow}: {len(self.tickers) - len(skipped)} tickers, all loaded and valid"
            if skipped:
                text += f"; {len(skipped)} skipped, not in the source: {', '.join(skipped)}"
            return text
        listed = "; ".join(f"{t}: {reason}" for t, reason in sorted(self.failures.items()))
        return f"{self.flow}: {len(self.failures)} of {len(self.tickers)} tickers failed: {listed}"


class RunIncomplete(RuntimeError):
    """The run loaded what it could, but some tickers failed (fetch or validation).

    Raised at the end of a flow, after every good ticker was written and materialized and
    the artifacts were published, so the run ends red and names the tickers.
    """

    def __init__(self, summary: RunSummary, cause: BaseException | None = None) -> None:
        self.summary = summary
        detail = f"\n{cause}" if cause is not None else ""
        super().__init__(summary.headline() + detail)


def _count_by_ticker(frame: pd.DataFrame | None) -> pd.Series:
    if frame is None or frame.empty or "ticker" not in frame:
        return pd.Series(dtype="int64")
    return frame["ticker"].value_counts()


def _dates_by_ticker(frame: pd.DataFrame | None) -> dict[str, str]:
    if frame is None or frame.empty:
        return {}
    shown = {}
    for ticker, group in frame.groupby("ticker"):
        days = [d.date().isoformat() for d in group["session"].sort_values()]
        more = f" (+{len(days) - _SHOWN_DATES})" if len(days) > _SHOWN_DATES else ""
        shown[ticker] = ", ".join(days[:_SHOWN_DATES]) + more
    return shown


def _reasons_by_ticker(gate: GateResult | None) -> dict[str, str]:
    if gate is None or gate.rejected.empty:
        return {}
    firsts = gate.rejected[~gate.rejected["reason"].str.startswith("withheld")]
    return {t: "; ".join(sorted(set("; ".join(g["reason"]).split("; "))))
            for t, g in firsts.groupby("ticker")}


def ticker_rows(tickers: list[str], fetched: pd.DataFrame, fetch_failures: dict[str, str],
                raw_gate: GateResult | None, feature_gate: GateResult | None,
                missing: pd.DataFrame | None = None) -> list[dict]:
    """One row per ticker: fetched, loaded, rejected, missing sessions, status."""
    fetched_n = _count_by_ticker(fetched)
    loaded_n = _count_by_ticker(raw_gate.accepted if raw_gate else fetched)
    raw_rejected = _count_by_ticker(raw_gate.rejected if raw_gate else None)
    feature_rejected = _count_by_ticker(feature_gate.rejected if feature_gate else None)
    raw_reasons, feature_reasons = _reasons_by_ticker(raw_gate), _reasons_by_ticker(feature_gate)
    missing_n, missing_days = _count_by_ticker(missing), _dates_by_ticker(missing)
    rows = []
    for ticker in tickers:
        if ticker in fetch_failures:
            status = f"FAILED fetch: {fetch_failures[ticker]}"
        elif ticker in raw_reasons:
            status = f"REJECTED raw: {raw_reasons[ticker]}"
        elif ticker in feature_reasons:
            status = f"REJECTED features: {feature_reasons[ticker]}"
        else:
            status = "ok"
        rows.append({
            "ticker": ticker,
            "bars_fetched": int(fetched_n.get(ticker, 0)),
            "bars_loaded": int(loaded_n.get(ticker, 0)),
            "bars_rejected": int(raw_rejected.get(ticker, 0)),
            "feature_rows_rejected": int(feature_rejected.get(ticker, 0)),
            "missing_sessions": int(missing_n.get(ticker, 0)),
            "missing_dates": missing_days.get(ticker, ""),
            "status": status,
        })
    return rows


def failures_of(rows: list[dict]) -> dict[str, str]:
    return {row["ticker"]: row["status"] for row in rows if row["status"] != "ok"}


def validation_markdown(summaries: list[dict]) -> str:
    lines = ["# Validation summary", ""]
    for summary in summaries:
        verdict = "passed" if not summary["rows_rejected"] else "FAILED"
        lines += [
            f"## {summary['suite']}: {verdict}",
            f"{summary['rows_checked']} rows checked against {summary['expectations']} expectations "
            f"in {summary['seconds']:.2f} s: {summary['rows_accepted']} accepted, "
            f"{summary['rows_rejected']} rejected (quarantined).",
            "",
        ]
        if summary["failed_expectations"]:
            lines += ["| rule | expectation | columns | rows |", "|---|---|---|---|"]
            lines += [f"| {f['rule']} | {f['expectation']} | {f['columns']} | {f['unexpected']} |"
                      for f in summary["failed_expectations"]]
            lines += ["", f"Rejected tickers: {', '.join(summary['rejected_tickers'])}", ""]
    return "\n".join(lines)


def materialized_markdown(materialized: dict | None) -> str:
    if not materialized:
        return "# Materialization\n\nNothing was materialized in this run."
    return (
        "# Materialization\n\n"
        f"- window: {materialized['window_start']} .. {materialized['window_end']}\n"
        f"- tickers with offline rows in the window: {materialized['tickers']}\n"
        f"- offline rows in the window: {materialized['rows_in_window']}\n"
        f"- latest event_timestamp: {materialized['latest_event_timestamp']}\n"
    )


def publish(summary: RunSummary) -> None:
    """Attach the summary to the current flow run as three artifacts (keys stay stable across
    runs, so the UI shows their history)."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    key = summary.flow.replace("_", "-")
    create_table_artifact(key=f"{key}-tickers", table=summary.tickers,
                          description=f"{summary.headline()}: rows loaded / rejected per ticker")
    create_markdown_artifact(key=f"{key}-validation", markdown=validation_markdown(summary.validation),
                             description="Great Expectations gates")
    create_markdown_artifact(key=f"{key}-materialized", markdown=materialized_markdown(summary.materialized),
                             description="online store load")
