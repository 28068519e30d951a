"""Every subcommand explains itself and rejects bad input with a readable message."""

from __future__ import annotations

import pytest

from stockfeatures.cli import main

SUBCOMMANDS = ["demo", "migrate", "apply", "ingest", "compute", "materialize", "features", "docs", "env",
               "serve", "warm-up"]


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: stockfeatures" in capsys.readouterr().out


def test_bad_date_names_the_value(capsys):
    with pytest.raises(SystemExit):
        main(["ingest", "--start", "2024-13-01"])
    assert "'2024-13-01' is not a date" in capsys.readouterr().err


def test_naive_timestamp_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["features", "AAPL", "--as-of", "2025-01-02T21:00:00"])
    assert "has no timezone" in capsys.readouterr().err


def test_unknown_profile_names_the_choices(monkeypatch, capsys):
    monkeypatch.setenv("STOCKFEATURES_PROFILE", "staging")
    assert main(["env"]) == 2
    assert "use one of local, prod" in capsys.readouterr().err


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
