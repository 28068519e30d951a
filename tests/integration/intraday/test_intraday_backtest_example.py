"""examples/intraday_backtest.py runs as a user runs it (a fresh process, `local` profile,
definitions applied) and shows the look-ahead: every naive row comes from a bar that had not
ended at the decision instant, while the point-in-time panel's do not."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.intraday.conftest import build_push_stack

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]


def run_example(*args: str) -> str:
    done = subprocess.run([sys.executable, str(REPO / "examples" / "intraday_backtest.py"), *args],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_intraday_backtest_example_runs_and_counts_the_naive_look_ahead(tmp_path, monkeypatch):
    build_push_stack("local", tmp_path, monkeypatch)
    picture = tmp_path / "intraday.png"

    out = run_example("--plot", str(picture), "--last", "2025-06-03")

    assert picture.stat().st_size > 10_000
    assert "push intraday_push (online_and_offline): " in out
    leaked = re.search(r"naive rows from a bar not ended at the decision instant: (\d+) of (\d+)", out)
    assert leaked and int(leaked.group(1)) == int(leaked.group(2)) > 0
    pit_corr = float(re.search(r"corr\(vwap_gap, next 5-min return\), point in time: ([-+.\d]+)", out).group(1))
    naive_corr = float(re.search(r"corr\(vwap_gap, next 5-min return\), naive: ([-+.\d]+)", out).group(1))
    assert abs(pit_corr) < 0.1 < naive_corr  # the naive signal contains the next bar's close

    again = run_example("--plot", str(picture), "--last", "2025-06-03")
    assert re.search(r"\d+ rows, 0 new", again)  # re-running pushes nothing new
