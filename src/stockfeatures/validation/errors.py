"""ValidationFailed: what a flow raises when a suite rejects rows, readable without a debugger."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

_EXAMPLES = 5


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict on one batch; `rows` are positions in the checked frame."""

    rule: str
    expectation: str
    columns: str
    success: bool
    unexpected_count: int
    rows: tuple[int, ...] = ()
    error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.rule} [{self.expectation}({self.columns})]"


def describe_rows(rows: pd.DataFrame, limit: int = _EXAMPLES) -> str:
    """'AAPL 2025-07-01, MSFT 2025-07-01 and 3 more' from a frame with ticker and a date column."""
    when = next((c for c in ("session", "event_timestamp", "ex_date") if c in rows), None)
    shown = []
    for _, row in rows.head(limit).iterrows():
        stamp = row[when] if when else None
        day = stamp.date().isoformat() if isinstance(stamp, pd.Timestamp) and not pd.isna(stamp) else str(stamp)
        shown.append(f"{row.get('ticker')} {day}")
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return ", ".join(shown) + more


class ValidationFailed(Exception):
    """A suite rejected rows; nothing of the rejected tickers was written.

    suite: the suite name; failures: the failing expectations; rows: every rejected row with
    a `reason` column (what went to quarantine).
    """

    def __init__(self, suite: str, failures: tuple[ExpectationOutcome, ...], rows: pd.DataFrame,
                 checked: int) -> None:
        self.suite = suite
        self.failures = failures
        self.rows = rows
        self.checked = checked
        super().__init__(self._message())

    @property
    def tickers(self) -> list[str]:
        return sorted(self.rows["ticker"].dropna().astype(str).unique()) if "ticker" in self.rows else []

    def _message(self) -> str:
        lines = [
            f"{self.suite}: {len(self.rows)} of {self.checked} rows rejected by "
            f"{len(self.failures)} expectation(s):"
        ]
        for outcome in self.failures:
            if outcome.error:
                lines.append(f"  - {outcome.label}: could not be evaluated: {outcome.error}")
                continue
            positions = [p for p in outcome.rows if p in self.rows.index]
            examples = describe_rows(self.rows.loc[positions]) if positions else ""
            lines.append(f"  - {outcome.label}: {outcome.unexpected_count} row(s): {examples}")
        if self.tickers:
            lines.append(
                f"  rejected tickers: {', '.join(self.tickers)} (the rejected rows and the rows "
                "withheld with them are in quarantine; nothing of those was written)"
            )
        return "\n".join(lines)
