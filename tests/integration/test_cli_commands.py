"""The command line runs each batch step on its own, as a user would from a shell, and every
failure it can foresee ends in one or two lines that name the problem and the fix (exit 2)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from stockfeatures.cli import main
from stockfeatures.config import load_settings
from stockfeatures.profiles import open_warehouse
from tests.conftest import copy_repo_skeleton
from tests.services import throwaway_database

pytestmark = pytest.mark.integration

CSV = """ticker,date,open,high,low,close,volume,dividend,split
{rows}"""
PASSWORD = "TopSecret99"


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


def _closed_port() -> int:
    """A port nothing listens on: bound, then released (the shared servers keep running)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _with_password(dsn: str) -> str:
    """The same server and database, with a password in the URL (trust auth ignores it)."""
    scheme, rest = dsn.split("://", 1)
    user_host = rest.split("@", 1)
    host_part = user_host[-1]
    user = user_host[0].split(":")[0] if len(user_host) == 2 else "postgres"
    return f"{scheme}://{user}:{PASSWORD}@{host_part}"


def _assert_actionable(err: str, *expected: str) -> None:
    """One or two lines, no traceback, no password, and the words that say what to do."""
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= 2, err
    assert "Traceback" not in err and PASSWORD not in err
    for text in expected:
        assert text in err, err


@pytest.fixture(autouse=True)
def _restore_environment():
    """main() sets quiet defaults and the Feast variables in os.environ: keep them here.

    Except PROMETHEUS_MULTIPROC_DIR, which importing Feast sets for good: prometheus_client,
    imported with it, keeps expecting it for the rest of the session.
    """
    saved = os.environ.copy()
    yield
    kept = {k: os.environ[k] for k in ("PROMETHEUS_MULTIPROC_DIR",) if k in os.environ}
    os.environ.clear()
    os.environ.update({**saved, **kept})


@pytest.fixture
def prod_repo(tmp_path, monkeypatch, redis_url):
    copy_repo_skeleton(tmp_path)
    monkeypatch.setenv("STOCKFEATURES_REPO_DIR", str(tmp_path))
    monkeypatch.setenv("STOCKFEATURES_PROFILE", "prod")
    monkeypatch.setenv("STOCKFEATURES_REDIS_URL", redis_url)
    return tmp_path


@pytest.fixture
def fresh_database(pg_admin_dsn, monkeypatch):
    with throwaway_database(pg_admin_dsn) as dsn:
        monkeypatch.setenv("STOCKFEATURES_PG_DSN", _with_password(dsn))
        yield dsn


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
    assert main(["ingest", "--source", "csv", "--path", str(local_repo / "nope.csv")]) == 2
    _assert_actionable(capsys.readouterr().err, "nope.csv")


def test_compute_before_ingest_says_what_to_run(local_repo, capsys):
    main(["migrate"])
    capsys.readouterr()
    assert main(["compute"]) == 2
    _assert_actionable(capsys.readouterr().err, "run `stockfeatures ingest` first")


def test_compute_rejected_by_validation_gives_counts_and_the_quarantine(local_repo, capsys):
    closes = [100.0 + i for i in range(30)]
    closes[20] = 3000.0  # a 30x jump: ret_1d far beyond its valid range, the bar itself is well-formed
    _write_csv(local_repo / "bars.csv", closes)
    assert main(["ingest", "--source", "csv", "--path", str(local_repo / "bars.csv"),
                 "--start", "2024-01-01", "--end", "2024-12-31"]) == 0
    capsys.readouterr()

    assert main(["compute"]) == 2
    err = capsys.readouterr().err
    _assert_actionable(err, "rows rejected", "ret_1d outside its valid range", "ACME", "quarantine.parquet")
    assert len(open_warehouse(load_settings()).read_quarantine("features_daily")) > 0


def test_ingest_of_a_bad_csv_bar_exits_2_and_stores_nothing_from_it_on(local_repo, capsys):
    _write_csv(local_repo / "bars.csv", [100.0 + i for i in range(30)])
    bars = (local_repo / "bars.csv").read_text().splitlines()
    ticker, day, open_, high, low, close, *rest = bars[5].split(",")
    bars[5] = ",".join([ticker, day, open_, str(float(close) / 2), low, close, *rest])  # high below close
    (local_repo / "bars.csv").write_text("\n".join(bars) + "\n")

    assert main(["ingest", "--source", "csv", "--path", str(local_repo / "bars.csv"),
                 "--start", "2024-01-01", "--end", "2024-12-31"]) == 2
    _assert_actionable(capsys.readouterr().err, "ACME")
    stored = open_warehouse(load_settings()).read_bars(tickers=["ACME"])
    assert not (stored["session"] >= pd.Timestamp("2024-01-08")).any()  # nothing from the bad bar on


@pytest.mark.parametrize("command", [["migrate"], ["ingest"], ["compute"], ["features", "AAPL"]])
def test_unreachable_postgres_is_named_with_the_fix(prod_repo, monkeypatch, capsys, command):
    monkeypatch.setenv("STOCKFEATURES_PG_DSN", f"postgresql://admin:{PASSWORD}@127.0.0.1:{_closed_port()}/sf")
    assert main(["--profile", "prod", *command]) == 2
    _assert_actionable(capsys.readouterr().err, "PostgreSQL is unreachable at postgresql://admin:***@127.0.0.1",
                       "STOCKFEATURES_PG_DSN")


@pytest.mark.parametrize("command", [["compute"], ["materialize"]])
def test_store_not_migrated_says_run_migrate(prod_repo, fresh_database, capsys, command):
    assert main(["--profile", "prod", *command]) == 2
    _assert_actionable(capsys.readouterr().err, "does not exist", "Run `stockfeatures --profile prod migrate`")


def test_registry_never_applied_says_run_apply(prod_repo, fresh_database, capsys):
    assert main(["--profile", "prod", "migrate"]) == 0
    capsys.readouterr()
    assert main(["--profile", "prod", "features", "AAPL", "--service", "momentum_v1"]) == 2
    _assert_actionable(capsys.readouterr().err, "Run `stockfeatures --profile prod apply`")


def test_unreachable_redis_is_named_with_the_fix(prod_repo, fresh_database, monkeypatch, capsys):
    assert main(["--profile", "prod", "migrate"]) == 0
    assert main(["--profile", "prod", "apply"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("STOCKFEATURES_REDIS_URL", f"redis://:{PASSWORD}@127.0.0.1:{_closed_port()}/0")
    assert main(["--profile", "prod", "features", "AAPL"]) == 2
    _assert_actionable(capsys.readouterr().err, "Redis is unreachable at redis://:***@127.0.0.1",
                       "STOCKFEATURES_REDIS_URL")


def test_apply_prints_one_line_and_no_changes_the_second_time(local_repo, capsys):
    assert main(["apply"]) == 0
    first = capsys.readouterr().out.strip().splitlines()
    assert main(["apply"]) == 0
    second = capsys.readouterr().out.strip().splitlines()
    assert len(first) == 1 and first[0].startswith("feast apply (local): ")
    assert second == ["feast apply (local): no changes"]


def _cli(*argv: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stockfeatures.cli", *argv], capture_output=True,
                          text=True, env=env, timeout=600, check=False)


def test_batch_commands_print_results_and_nothing_else(local_repo):
    """No GX/ibis/Prefect warnings or INFO lines, no tracebacks; stable FeatureSpec column order."""
    env = {**os.environ, "STOCKFEATURES_REPO_DIR": str(local_repo), "STOCKFEATURES_PROFILE": "local"}
    for key in ("PREFECT_LOGGING_LEVEL", "GX_ANALYTICS_ENABLED", "PYTHONWARNINGS"):
        env.pop(key, None)
    runs = [
        _cli("ingest", "--tickers", "AAPL", "MSFT", "SPY", "--start", "2024-01-02", "--end", "2025-06-30", env=env),
        _cli("compute", env=env),
        _cli("apply", env=env),
        _cli("materialize", env=env),
        _cli("features", "AAPL", "MSFT", "--service", "momentum_v1", env=env),
        _cli("features", "AAPL", "--features", "vol_20d", "ret_5d", "--as-of", "2025-06-30T21:00:00+00:00", env=env),
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
        noise = [line for line in run.stderr.splitlines()
                 if "Warning" in line or "INFO" in line or "Traceback" in line or "sre_" in line]
        assert noise == [], run.args
    online_header = runs[4].stdout.splitlines()[0].split()
    assert online_header == ["ticker", "ret_5d", "ret_20d", "vol_20d", "mom_12_1", "ma_gap_20d", "rsi_14",
                             "mom_12_1_rank"]
    assert runs[5].stdout.splitlines()[0].split() == ["ticker", "event_timestamp", "vol_20d", "ret_5d"]
