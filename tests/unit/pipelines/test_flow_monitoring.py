"""Every flow run reports its outcome for the PipelineFailed alert and freshness panel."""

from __future__ import annotations

from types import SimpleNamespace

from pipelines import monitoring
from pipelines.backfill import backfill
from pipelines.daily_update import daily_update
from pipelines.warm_up import warm_up
from stockfeatures.features.spec import view_names


class _State:
    def __init__(self, completed: bool, result=None):
        self._completed, self._result = completed, result

    def is_completed(self) -> bool:
        return self._completed

    def result(self, raise_on_failure: bool = True):
        return self._result


def test_every_flow_reports_success_failure_and_crash():
    for flow in (daily_update, backfill, warm_up):
        for hooks in (flow.on_completion_hooks, flow.on_failure_hooks, flow.on_crashed_hooks):
            assert monitoring.report_outcome in hooks, flow.name


def test_success_pushes_newest_materialized_session_for_every_view(monkeypatch):
    pushed = []
    monkeypatch.setattr(monitoring, "push_pipeline_outcome", lambda *args: pushed.append(args))
    summary = SimpleNamespace(materialized={"latest_event_timestamp": "2025-12-31 21:00:00+00:00"})

    monitoring.report_outcome(SimpleNamespace(name="daily_update"), None, _State(True, summary))

    flow, succeeded, newest = pushed[0]
    assert (flow, succeeded) == ("daily_update", True)
    assert set(newest) == set(view_names())
    assert set(newest.values()) == {1767214800.0}


def test_failure_is_pushed_and_a_push_error_never_fails_the_flow(monkeypatch):
    attempts = []

    def unreachable(*args):
        attempts.append(args)
        raise OSError("gateway down")

    monkeypatch.setattr(monitoring, "push_pipeline_outcome", unreachable)
    monitoring.report_outcome(SimpleNamespace(name="warm_up"), None, _State(False))
    assert attempts == [("warm_up", False, None)]
