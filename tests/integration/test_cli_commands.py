"""The command line runs each batch step on its own, as a user would from a shell."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockfeatures.cli import main
from stockfeatures.config import load_settings
from stockfeatures.profiles import open_warehouse
from tests.conftest import copy_repo_skeleton

CSV = """ticker,date,open,high,low,close,volume,dividend,split
{rows}"""


def _write_csv(path: Path, closes: list[float]) -> None:
    from stockfeatures.trading_calendar import sessions_between

    sessions = sessions_between("2024-01-02", "2024-03-28")[: len(closes)]
    rows = []
    for ticker, scale in (("ACME", 1.0), ("SPY", 4.0)):
        for session, close in zip(sessions, closes, strict=True):
            price = close * scale
            rows.append(f"{ticker},{session.date()},{price:.2f},{price * 1.01:.2f},{price * 0.99:.2f},"
                        f"{price:.2f},1000000,,")
    path.write_text(CSV.format(rows="\n".join(rows)) + "\n")


@pytest.fixture
def local_repo(tmp_path, monkeypatch):
    copy_repo_skeleton(tmp_path)
    monkeypatch.setenv("STOCKFEATURES_REPO_DIR", str(tmp_path))
    monkeypatch.setenv("STOCKFEATURES_PROFILE", "local")
    return tmp_path


def test_csv_ingest_then_compute_stores_features(local_repo, capsys):
    closes = [100.0 + i for i in range(30)]
    _write_csv(local_repo / "bars.csv", closes)

    assert main(["ingest", "--source", "csv", "--path", str(local_repo / "bars.csv"),
                 "--start", "2024-01-01", "--end", "2024-12-31"]) == 0
    assert main(["compute"]) == 0

    features = open_warehouse(load_settings()).read_features(tickers=["ACME"])
    assert len(features) == 30
    last = features.sort_values("event_timestamp").iloc[-1]
    assert last["ret_5d"] == pytest.approx(closes[-1] / closes[-6] - 1, rel=1e-4)
    assert "60 rows from 2 tickers" in capsys.readouterr().out


def test_ingest_of_a_missing_csv_says_which_file(local_repo, capsys):
    code = main(["ingest", "--source", "csv", "--path", str(local_repo / "nope.csv")])
    assert code != 0
    assert "nope.csv" in capsys.readouterr().err


def test_compute_before_ingest_says_what_to_run(local_repo, capsys):
    main(["migrate"])
    assert main(["compute"]) == 2
    assert "run `stockfeatures ingest` first" in capsys.readouterr().err
