"""The weekday schedules also fire on XNYS holidays; the daily update must then do nothing.

Since issue 9 the schedules are cron lines (the Prefect UI labels them truthfully), so the
holiday check lives only in the flow: this is the test that keeps it there.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pipelines.daily_update import daily_update
from stockfeatures.prices.source import register_source

INDEPENDENCE_DAY_AFTER_1630_NY = datetime(2025, 7, 4, 20, 30, tzinfo=UTC)  # a Friday


class _SourceThatMustNotBeCalled:
    def fetch(self, *args, **kwargs):
        raise AssertionError("a holiday run fetched prices")


def test_daily_update_on_a_holiday_completes_without_fetching(prefect_api, tmp_path, monkeypatch):
    register_source("holiday-guard", _SourceThatMustNotBeCalled)
    monkeypatch.setenv("STOCKFEATURES_REPO_DIR", str(tmp_path))  # nothing may be written
    state = daily_update(source="holiday-guard", tickers=["AAPL"],
                         as_of=INDEPENDENCE_DAY_AFTER_1630_NY, return_state=True)
    assert state.is_completed()
    summary = state.result()
    assert summary.skipped
    assert summary.notes == ["2025-07-04 is not an XNYS session"]
    assert list(tmp_path.iterdir()) == []
