"""The CLI and the daily flow run one ingest stage: same input, same stored rows (issue 10, finding 9)."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.daily_update import daily_update
from stockfeatures.cli import main
from stockfeatures.config import load_settings
from stockfeatures.profiles import open_warehouse
from stockfeatures.stages.ingest_plan import refetch_window
from stockfeatures.trading_calendar import session_close, sessions_between
from tests.conftest import copy_repo_skeleton

pytestmark = pytest.mark.integration

SESSIONS = sessions_between("2025-05-01", "2025-07-02")
AS_OF = session_close([SESSIONS[-1]])[0] + pd.Timedelta(minutes=30)


def write_csv(path, bump: float = 0.0) -> None:
    lines = ["ticker,date,open,high,low,close,volume,dividend,split"]
    for ticker, base in (("ACME", 50.0), ("SPY", 500.0)):
        for i, day in enumerate(SESSIONS):
            close = base + i + (bump if (ticker, i) == ("ACME", len(SESSIONS) - 8) else 0.0)
            dividend = "0.25" if (ticker, i) == ("ACME", len(SESSIONS) - 5) else ""
            lines.append(f"{ticker},{day.date()},{close},{close + 1},{close - 1},{close},1000,{dividend},")
    lines.append(f"ACME,{SESSIONS[-2].date()},1,1,1,1,1,,")  # a duplicate: quarantined by both paths
    path.write_text("\n".join(lines) + "\n")


def stored(repo, monkeypatch) -> dict[str, pd.DataFrame]:
    monkeypatch.setenv("STOCKFEATURES_REPO_DIR", str(repo))
    warehouse = open_warehouse(load_settings("local"))
    far_future = pd.Timestamp("2100-01-01", tz="UTC")
    bars = warehouse.read_bars(as_of=far_future).sort_values(["ticker", "session"], ignore_index=True)
    actions = warehouse.read_actions(as_of=far_future).reset_index(drop=True)
    quarantine = warehouse.read_quarantine("raw_prices")[["ticker", "event_timestamp", "reason"]]
    return {"bars": bars, "actions": actions,
            "quarantine": quarantine.sort_values(["ticker", "reason"], ignore_index=True)}


def test_cli_and_daily_flow_store_the_same_rows_from_the_same_file(prefect_api, tmp_path, monkeypatch):
    start, end = refetch_window(AS_OF)
    by_flow, by_cli = copy_repo_skeleton(tmp_path / "flow"), copy_repo_skeleton(tmp_path / "cli")
    monkeypatch.setenv("STOCKFEATURES_PROFILE", "local")
    for repo in (by_flow, by_cli):  # a first load of older history, the same for both
        write_csv(repo / "bars.csv")
        monkeypatch.setenv("STOCKFEATURES_REPO_DIR", str(repo))
        assert main(["ingest", "--source", "csv", "--path", str(repo / "bars.csv"),
                     "--known-at", AS_OF.isoformat(), "--end", str(SESSIONS[-6].date())]) == 0
        write_csv(repo / "bars.csv", bump=0.5)  # then a restatement arrives with the latest sessions

    monkeypatch.setenv("STOCKFEATURES_REPO_DIR", str(by_flow))
    state = daily_update(profile="local", source="csv", source_options={"path": str(by_flow / "bars.csv")},
                         tickers=["ACME"], as_of=AS_OF.to_pydatetime(), materialize=False, return_state=True)
    assert state.is_failed()  # the duplicate row was quarantined; the run names it and ends red

    monkeypatch.setenv("STOCKFEATURES_REPO_DIR", str(by_cli))
    code = main(["ingest", "--source", "csv", "--path", str(by_cli / "bars.csv"), "--tickers", "ACME", "SPY",
                 "--start", str(start), "--end", str(end), "--known-at", AS_OF.isoformat()])
    assert code == 2  # rows were quarantined: exit 2, the rest stored

    flow_rows, cli_rows = stored(by_flow, monkeypatch), stored(by_cli, monkeypatch)
    for name in ("bars", "actions", "quarantine"):
        pd.testing.assert_frame_equal(flow_rows[name], cli_rows[name], obj=name)
    bars = cli_rows["bars"]
    restated = bars[(bars["ticker"] == "ACME") & (bars["session"] == SESSIONS[-8])]
    assert restated["created_timestamp"].iloc[0] == AS_OF  # a restatement, known when learned
    assert len(cli_rows["actions"]) == 1
