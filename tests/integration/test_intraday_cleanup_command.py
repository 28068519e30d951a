"""`stockfeatures intraday-cleanup`: retention of raw 5-minute bars where no TimescaleDB
policy runs it; it says how many rows it deleted and keeps intraday features."""

from __future__ import annotations

import pandas as pd
import pytest

from stockfeatures.cli import main
from stockfeatures.profiles import open_warehouse
from tests.intraday_frames import make_intraday_bars, make_intraday_features

pytestmark = pytest.mark.integration


def test_cleanup_deletes_bars_past_the_retention_and_says_how_many(local_repo, capsys):
    warehouse = open_warehouse()
    bars = pd.concat([make_intraday_bars(session="2025-03-03", count=4),
                      make_intraday_bars(session="2025-03-04", count=4)], ignore_index=True)
    warehouse.write_intraday_bars(bars)
    warehouse.write_intraday_features(make_intraday_features(session="2025-03-03", count=2))

    assert main(["intraday-cleanup", "--retention-days", "36500"]) == 0
    assert "deleted 0 raw 5-minute bar rows" in capsys.readouterr().out
    assert main(["intraday-cleanup", "--retention-days", "1"]) == 0
    assert f"deleted {len(bars)} raw 5-minute bar rows" in capsys.readouterr().out

    assert warehouse.read_intraday_bars().empty
    assert len(warehouse.read_intraday_features()) == 4


def test_retention_of_zero_days_is_refused(local_repo, capsys):
    assert main(["intraday-cleanup", "--retention-days", "0"]) == 2
    assert "--retention-days must be between 1 and 36500" in capsys.readouterr().err


def test_retention_setting_must_be_whole_days(local_repo, monkeypatch, capsys):
    monkeypatch.setenv("STOCKFEATURES_INTRADAY_RETENTION_DAYS", "ninety")
    assert main(["intraday-cleanup"]) == 2
    assert "STOCKFEATURES_INTRADAY_RETENTION_DAYS must be a whole number" in capsys.readouterr().err
