"""Progress: silent unless asked, plain periodic lines with counts and ETA off a terminal."""

from __future__ import annotations

import io

from stockfeatures.progress import (
    SILENT,
    PlainProgress,
    duration_text,
    or_silent,
    progress_reporter,
    showing,
    status_line,
)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_progress_prints_counts_and_eta_at_most_every_interval():
    stream, clock = io.StringIO(), _Clock()
    progress = PlainProgress(stream, interval=5.0, clock=clock)
    progress.start("backfill", 4, "tickers")
    clock.now = 1.0
    progress.advance(1)            # too soon for a line
    clock.now = 6.0
    progress.advance(1, "200 bars")  # 2 of 4 after 6 s: 6 s to go
    clock.now = 7.0
    progress.advance(1)            # too soon again
    clock.now = 8.0
    progress.advance(1)            # the last one always prints
    assert stream.getvalue().splitlines() == [
        "backfill: 2/4 tickers (50%), 6 s elapsed, ETA 6 s; 200 bars",
        "backfill: 4/4 tickers (100%), 8 s elapsed",
    ]


def test_status_line_has_no_eta_before_any_work_is_done():
    assert status_line("compute", 0, 3, "steps", 2.0) == "compute: 0/3 steps (0%), 2 s elapsed"


def test_durations_read_at_a_glance():
    assert [duration_text(s) for s in (4.4, 65, 3725)] == ["4 s", "1 min 05 s", "1 h 02 min"]


def test_off_a_terminal_the_reporter_is_plain_and_disabled_is_silent():
    with progress_reporter(io.StringIO()) as progress:
        assert isinstance(progress, PlainProgress)
    with progress_reporter(io.StringIO(), enabled=False) as progress:
        assert progress is SILENT


def test_library_steps_are_silent_by_default_and_hear_an_active_progress():
    assert or_silent(None) is SILENT
    plain = PlainProgress(io.StringIO())
    with showing(plain):
        assert or_silent(None) is plain
    assert or_silent(None) is SILENT


def test_terminal_bar_shows_counts_and_the_last_detail():
    from stockfeatures.progress import BarProgress

    stream = io.StringIO()
    with BarProgress(stream) as bar:
        bar.start("materialize", 2, "views")
        bar.advance(1, "returns_daily")
        bar.advance(1, "risk_daily")
    shown = stream.getvalue()
    assert "materialize" in shown and "2/2" in shown and "risk_daily" in shown
