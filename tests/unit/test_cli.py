"""Every subcommand explains itself at once and rejects bad input with a readable message."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

from stockfeatures.cli import main
from stockfeatures.cli.parser import build_parser

SUBCOMMANDS = ["demo", "migrate", "apply", "ingest", "compute", "materialize", "features", "docs", "env",
               "serve", "warm-up", "intraday-cleanup"]
HEAVY_MODULES = ("feast", "great_expectations", "prefect", "pandas", "sqlalchemy", "redis", "fastapi")

_IMPORTS_AFTER_HELP = """
import json, sys
from stockfeatures.cli import main
for argv in [["--help"]] + [[name, "--help"] for name in sys.argv[1:]]:
    try:
        main(argv)
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy})))
"""


@pytest.fixture(autouse=True)
def _restore_environment():
    """main() sets quiet defaults (PREFECT_LOGGING_LEVEL, ...) in os.environ: keep them here."""
    saved = os.environ.copy()
    yield
    os.environ.clear()
    os.environ.update(saved)


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: stockfeatures" in capsys.readouterr().out


def test_help_imports_no_feast_gx_prefect_or_pandas():
    code = _IMPORTS_AFTER_HELP.replace("{heavy}", repr(set(HEAVY_MODULES)))
    done = subprocess.run([sys.executable, "-c", code, *SUBCOMMANDS], capture_output=True, text=True,
                          check=True, timeout=120)
    out_lines = done.stdout.strip().splitlines()
    assert json.loads(out_lines[-1]) == []
    assert done.stderr == ""


def test_every_option_of_every_command_has_help_text():
    parser = build_parser()
    undocumented = []
    for name, subparser in {"stockfeatures": parser, **_subparsers(parser)}.items():
        for action in subparser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                undocumented.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert set(_subparsers(parser)) == set(SUBCOMMANDS)
    assert undocumented == []


def test_bad_date_names_the_value(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["ingest", "--start", "2024-13-01"])
    assert exit_info.value.code == 2
    assert "'2024-13-01' is not a date" in capsys.readouterr().err


def test_naive_timestamp_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["features", "AAPL", "--as-of", "2025-01-02T21:00:00"])
    assert "has no timezone" in capsys.readouterr().err


def test_csv_ingest_without_a_path_is_a_usage_error(capsys):
    assert main(["ingest", "--source", "csv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["stockfeatures ingest: error: ingest --source csv needs --path FILE"]


def test_unknown_profile_names_the_choices(monkeypatch, capsys):
    monkeypatch.setenv("STOCKFEATURES_PROFILE", "staging")
    assert main(["env"]) == 2
    assert "use one of local, prod" in capsys.readouterr().err


def test_bad_dsn_is_named_without_its_password(monkeypatch, capsys):
    monkeypatch.setenv("STOCKFEATURES_PG_DSN", "postgresql+psycopg://admin:TopSecret99@db.internal:5432/sf")
    assert main(["--profile", "prod", "env"]) == 2
    err = capsys.readouterr().err
    assert "TopSecret99" not in err
    assert "postgresql+psycopg://admin:***@db.internal:5432/sf" in err
    assert len(err.strip().splitlines()) == 1


def test_bad_redis_url_is_named_without_its_password(monkeypatch, capsys):
    monkeypatch.setenv("STOCKFEATURES_REDIS_URL", "http://:Hunter22@cache:6379/0")
    assert main(["env"]) == 2
    err = capsys.readouterr().err
    assert "Hunter22" not in err and "http://:***@cache:6379/0" in err


def test_env_exports_prod_connection_for_feast(monkeypatch, capsys):
    monkeypatch.setenv("STOCKFEATURES_PG_DSN", "postgresql://quant:s3cret@db.internal:6543/features")
    monkeypatch.setenv("STOCKFEATURES_REDIS_URL", "redis://cache:6380/2")
    assert main(["--profile", "prod", "env"]) == 0
    out = capsys.readouterr().out
    for expected in ("STOCKFEATURES_PG_HOST='db.internal'", "STOCKFEATURES_PG_PORT='6543'",
                     "STOCKFEATURES_PG_DB='features'", "STOCKFEATURES_PG_PASSWORD='s3cret'",
                     "STOCKFEATURES_REDIS_CONNECTION='cache:6380,db=2'", "feature_store.prod.yaml"):
        assert expected in out


def test_profile_option_works_after_the_subcommand(capsys):
    assert main(["env", "--profile", "prod"]) == 0
    assert "feature_store.prod.yaml" in capsys.readouterr().out


def test_verbose_shows_the_traceback_still_without_the_password(monkeypatch, capsys):
    monkeypatch.setenv("STOCKFEATURES_PG_DSN", "postgresql+psycopg://admin:TopSecret99@db.internal:5432/sf")
    assert main(["-v", "--profile", "prod", "env"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "ConfigError" in err
    assert "TopSecret99" not in err


def test_pipelines_refuse_an_unknown_source_in_one_line(capsys):
    from pipelines.__main__ import main as pipelines_main

    assert pipelines_main(["backfill", "--start", "2025-01-02", "--end", "2025-01-10", "--source", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1  # other tests may have registered more sources: those are listed too
    assert err[0].startswith("python -m pipelines backfill: error: unknown --source 'nope'; known: ")
    assert {"csv", "sample", "yfinance"} <= set(err[0].split("known: ")[1].split(", "))


def test_env_exports_cluster_connection_for_feast(monkeypatch, capsys):
    monkeypatch.setenv("STOCKFEATURES_REDIS_CLUSTER_NODES", "127.0.0.1:7101,127.0.0.1:7102")
    assert main(["--profile", "cluster", "env"]) == 0
    out = capsys.readouterr().out
    assert "STOCKFEATURES_REDIS_CONNECTION='127.0.0.1:7101,127.0.0.1:7102'" in out
    assert "feature_store.cluster.yaml" in out


def test_unreachable_redis_cluster_names_its_nodes_and_the_fix(monkeypatch):
    import redis

    from stockfeatures.cli.failures import explain
    from stockfeatures.config import load_settings

    monkeypatch.setenv("STOCKFEATURES_REDIS_CLUSTER_NODES", "127.0.0.1:7101,127.0.0.1:7102")
    monkeypatch.setenv("STOCKFEATURES_REDIS_CLUSTER_PASSWORD", "Hunter22")
    error = redis.ConnectionError("Error 111 connecting to 127.0.0.1:7101. Connection refused.")
    message = explain(error, load_settings("cluster"))
    assert "Redis Cluster at 127.0.0.1:7101,127.0.0.1:7102 is unreachable" in message
    assert "STOCKFEATURES_REDIS_CLUSTER_NODES" in message and "infra/redis-cluster.sh start" in message
    assert "Hunter22" not in message
