"""Progress of long work (ingest, compute, materialize, backfill, warm-up), silent by default.

Library steps take an optional `progress=` keyword and call `start(...)` / `advance(...)` on it;
with None they call the null object and print nothing, so tests, flows and other callers stay
quiet. The CLI passes `progress_reporter()`: a rich progress bar with counts, elapsed time and
ETA on a terminal, plain periodic lines when output is a pipe or a log file (where a redrawn
bar would be a mess of carriage returns).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol, TextIO

PLAIN_INTERVAL_SECONDS = 5.0


class Progress(Protocol):
    """What a step reports: a named stage with a known total, then how much of it is done."""

    def start(self, description: str, total: int, unit: str = "steps") -> None: ...

    def advance(self, n: int = 1, detail: str = "") -> None: ...


class SilentProgress:
    """The default: steps report, nobody listens."""

    def start(self, description: str, total: int, unit: str = "steps") -> None:
        pass

    def advance(self, n: int = 1, detail: str = "") -> None:
        pass


SILENT = SilentProgress()


_ACTIVE: ContextVar[Progress | None] = ContextVar("stockfeatures_progress", default=None)


def or_silent(progress: Progress | None) -> Progress:
    """`progress`, else the one a caller made active with `showing`, else SILENT."""
    if progress is not None:
        return progress
    active = _ACTIVE.get()
    return SILENT if active is None else active


@contextmanager
def showing(progress: Progress) -> Iterator[Progress]:
    """Make `progress` the one `or_silent(None)` returns inside this block.

    For code whose signature cannot take a Progress: a Prefect flow's parameters must be
    serializable, so `python -m pipelines backfill` activates a bar this way instead.
    """
    token = _ACTIVE.set(progress)
    try:
        yield progress
    finally:
        _ACTIVE.reset(token)


def duration_text(seconds: float) -> str:
    """'45 s', '3 min 05 s', '1 h 02 min': readable at a glance in a log line."""
    seconds = max(int(round(seconds)), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def eta_seconds(done: int, total: int, elapsed: float) -> float | None:
    """Remaining time at the average rate so far; None before anything is done."""
    if done <= 0 or total <= 0:
        return None
    return elapsed / done * max(total - done, 0)


def status_line(description: str, done: int, total: int, unit: str, elapsed: float,
                detail: str = "") -> str:
    """'compute: 2/3 steps (67%), 4 s elapsed, ETA 2 s; validated 1200 rows'."""
    percent = f" ({100 * done / total:.0f}%)" if total else ""
    eta = eta_seconds(done, total, elapsed)
    eta_part = "" if eta is None or done >= total else f", ETA {duration_text(eta)}"
    tail = f"; {detail}" if detail else ""
    return f"{description}: {done}/{total} {unit}{percent}, {duration_text(elapsed)} elapsed{eta_part}{tail}"


class PlainProgress:
    """At most one line every `interval` seconds per stage, and one when a long one completes.

    No line at a stage's start: a command that fails at once then prints only its error.
    """

    def __init__(self, stream: TextIO, interval: float = PLAIN_INTERVAL_SECONDS,
                 clock=time.monotonic) -> None:
        self._stream, self._interval, self._clock = stream, interval, clock
        self._description, self._total, self._unit = "", 0, "steps"
        self._done, self._started, self._last_line, self._lines = 0, 0.0, 0.0, 0

    def start(self, description: str, total: int, unit: str = "steps") -> None:
        self._description, self._total, self._unit = description, total, unit
        self._done, self._started, self._lines = 0, self._clock(), 0
        self._last_line = self._started

    def advance(self, n: int = 1, detail: str = "") -> None:
        self._done += n
        now = self._clock()
        finished = self._done >= self._total
        # A stage that finished before its first periodic line was quick: its command's own
        # result line says enough, so it prints nothing here.
        if (finished and self._lines) or now - self._last_line >= self._interval:
            self._last_line = now
            self._lines += 1
            self._write(status_line(self._description, self._done, self._total, self._unit,
                                    now - self._started, detail))

    def _write(self, line: str) -> None:
        # stream.write, not print(): Prefect's log_prints=True turns print() inside a flow into
        # INFO log records, which the quiet CLI does not show.
        self._stream.write(line + "\n")
        self._stream.flush()


class BarProgress:
    """A rich bar per stage: description, bar, done/total, elapsed, ETA, last detail."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), TextColumn("{task.fields[detail]}"),
            console=Console(file=stream), transient=False,
        )
        self._task = None

    def __enter__(self) -> BarProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.stop()

    def start(self, description: str, total: int, unit: str = "steps") -> None:
        self._task = self._bar.add_task(description, total=total, unit=unit, detail="")

    def advance(self, n: int = 1, detail: str = "") -> None:
        if self._task is not None:
            self._bar.update(self._task, advance=n, detail=detail)


@contextmanager
def progress_reporter(stream: TextIO | None = None, enabled: bool = True) -> Iterator[Progress]:
    """A bar on a terminal, plain lines otherwise, SILENT when not enabled."""
    stream = stream or sys.stderr
    if not enabled:
        yield SILENT
    elif stream.isatty():
        with BarProgress(stream) as bar:
            yield bar
    else:
        yield PlainProgress(stream)
