"""`stockfeatures ingest` accounts for every row of a file (issue 10, docs/data-integrity.md).

Local profile (parquet warehouse), run exactly as a user would from a shell.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from stockfeatures.cli import main
from stockfeatures.config import load_settings
from stockfeatures.profiles import open_warehouse
from stockfeatures.trading_calendar import session_close, sessions_between

HEADER = "ticker,date,open,high,low,close,volume,dividend,split"
SUMMARY = re.compile(
    r"(\d+) rows fetched: (\d+) new versions, (\d+) unchanged, (\d+) quarantined, "
    r"(\d+) outside the window, (\d+) not yet closed, (\d+) not requested"
)


def bar_line(ticker: str, day, close: float, high: float | None = None) -> str:
    high = close * 1.01 if high is None else high
    return f"{ticker},{pd.Timestamp(day).date()},{close:.4f},{high:.4f},{close * 0.99:.4f},{close:.4f},1000000,,"


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def two_tickers(sessions, acme_close=lambda i: 100.0 + i) -> list[str]:
    return ([bar_line("ACME", day, acme_close(i)) for i, day in enumerate(sessions)]
            + [bar_line("SPY", day, 400.0 + i) for i, day in enumerate(sessions)])


def ingest(path: Path, *extra: str) -> int:
    return main(["ingest", "--source", "csv", "--path", str(path), *extra])


def summary_of(output: str) -> dict[str, int]:
    match = SUMMARY.search(output)
    assert match, f"no summary line in {output!r}"
    names = ("fetched", "new", "unchanged", "quarantined", "outside", "unclosed", "not_requested")
    counts = dict(zip(names, map(int, match.groups()), strict=True))
    assert counts["fetched"] == sum(v for k, v in counts.items() if k != "fetched"), counts
    return counts


def warehouse():
    return open_warehouse(load_settings())


SESSIONS = sessions_between("2024-01-02", "2024-02-29")[:20]


def test_cli_reingest_of_a_changed_bar_stores_a_restatement_known_now(local_repo, capsys):
    path = write_csv(local_repo / "bars.csv", two_tickers(SESSIONS))
    assert ingest(path) == 0
    first = summary_of(capsys.readouterr().out)
    assert first["new"] == 40 and first["fetched"] == 40

    restated_day = SESSIONS[5]
    write_csv(path, two_tickers(SESSIONS, acme_close=lambda i: 100.0 + i + (0.5 if i == 5 else 0.0)))
    before = pd.Timestamp.now(tz="UTC")
    assert ingest(path) == 0
    after = pd.Timestamp.now(tz="UTC")
    second = summary_of(capsys.readouterr().out)
    assert (second["new"], second["unchanged"]) == (1, 39)

    latest = warehouse().read_bars(["ACME"], restated_day, restated_day)
    assert latest["close"].iloc[0] == pytest.approx(105.5)
    assert before <= latest["created_timestamp"].iloc[0] <= after  # stamped when it was learned
    as_known_before = warehouse().read_bars(["ACME"], restated_day, restated_day, as_of=before)
    assert as_known_before["close"].iloc[0] == pytest.approx(105.0)
    # the first load kept created = the session close
    assert as_known_before["created_timestamp"].iloc[0] == session_close([restated_day])[0]


def test_cli_known_at_stamps_a_back_loaded_restatement(local_repo, capsys):
    path = write_csv(local_repo / "bars.csv", two_tickers(SESSIONS))
    assert ingest(path) == 0
    capsys.readouterr()
    write_csv(path, two_tickers(SESSIONS, acme_close=lambda i: 100.0 + i + (1.0 if i == 3 else 0.0)))
    assert ingest(path, "--known-at", "2024-03-15T21:00:00+00:00") == 0
    assert summary_of(capsys.readouterr().out)["new"] == 1
    stored = warehouse().read_bars(["ACME"], SESSIONS[3], SESSIONS[3])
    assert stored["created_timestamp"].iloc[0] == pd.Timestamp("2024-03-15T21:00:00Z")
    old = warehouse().read_bars(["ACME"], SESSIONS[3], SESSIONS[3], as_of=pd.Timestamp("2024-03-15T20:59Z"))
    assert old["close"].iloc[0] == pytest.approx(103.0)


def test_one_bad_bar_is_quarantined_and_the_rest_of_the_file_loads(local_repo, capsys):
    lines = two_tickers(SESSIONS)
    bad = 8  # ACME's 9th session: high below close
    lines[bad] = bar_line("ACME", SESSIONS[bad], 108.0, high=100.0)
    path = write_csv(local_repo / "bars.csv", lines)

    code = ingest(path)
    captured = capsys.readouterr()
    assert code == 2  # something was quarantined: the command says so, but loads the rest
    counts = summary_of(captured.out)
    assert counts["new"] == 20 + bad and counts["quarantined"] == 20 - bad
    assert "quarantine" in captured.err

    stored = warehouse().read_bars()
    assert (stored["ticker"] == "SPY").sum() == 20
    acme = stored[stored["ticker"] == "ACME"]
    assert list(acme["session"]) == list(SESSIONS[:bad])  # history ends before the bad bar: no hole
    quarantined = warehouse().read_quarantine("raw_prices")
    assert len(quarantined) == 20 - bad
    day_of = quarantined["payload"].map(lambda p: p.get("date") or p["session"][:10])  # file row / bar
    reasons = quarantined.set_index(day_of)["reason"]
    assert "high below max(open, close)" in reasons[str(SESSIONS[bad].date())]
    assert reasons[str(SESSIONS[bad + 1].date())].startswith("withheld")
    assert str(SESSIONS[bad].date()) in reasons[str(SESSIONS[bad + 1].date())]


def test_default_window_is_the_whole_file_back_to_1970(local_repo, capsys):
    old = sessions_between("1986-03-10", "1986-03-31")[:5]
    path = write_csv(local_repo / "bars.csv", two_tickers(list(old) + list(SESSIONS)))
    assert ingest(path) == 0
    counts = summary_of(capsys.readouterr().out)
    assert counts["new"] == 50 and counts["outside"] == 0
    assert warehouse().read_bars(["ACME"], "1986-03-13", "1986-03-13")["close"].iloc[0] == pytest.approx(103.0)


def test_rows_outside_an_explicit_window_are_counted(local_repo, capsys):
    path = write_csv(local_repo / "bars.csv", two_tickers(SESSIONS))
    assert ingest(path, "--start", str(SESSIONS[10].date())) == 0
    counts = summary_of(capsys.readouterr().out)
    assert (counts["new"], counts["outside"]) == (20, 20)


def test_a_date_before_the_calendar_window_names_the_window_and_its_setting(local_repo, capsys):
    path = write_csv(local_repo / "bars.csv", [bar_line("ACME", "1962-07-02", 10.0), *two_tickers(SESSIONS)])
    assert ingest(path) == 2
    counts = summary_of(capsys.readouterr().out)
    assert counts["quarantined"] == 1 and counts["new"] == 40
    reason = warehouse().read_quarantine("raw_prices")["reason"].iloc[0]
    assert "STOCKFEATURES_CALENDAR_START" in reason and "1970" in reason
    assert "not an XNYS session" not in reason


@pytest.mark.parametrize("ticker, words", [("BN\0L", "control character"), ("ſpy", "non-ASCII")])
def test_tickers_are_validated_before_any_folding(local_repo, capsys, ticker, words):
    path = write_csv(local_repo / "bars.csv", [bar_line(ticker, SESSIONS[0], 10.0), *two_tickers(SESSIONS)])
    assert ingest(path) == 2
    assert summary_of(capsys.readouterr().out)["quarantined"] == 1
    stored = warehouse().read_bars()
    assert set(stored["ticker"]) == {"ACME", "SPY"} and (stored["ticker"] == "SPY").sum() == 20
    assert words in warehouse().read_quarantine("raw_prices")["reason"].iloc[0]


def test_implausible_prices_are_quarantined_at_ingest(local_repo, capsys):
    lines = two_tickers(SESSIONS)
    lines[-1] = bar_line("SPY", SESSIONS[-1], 1e300)
    path = write_csv(local_repo / "bars.csv", lines)
    assert ingest(path) == 2
    assert summary_of(capsys.readouterr().out)["quarantined"] == 1
    assert "implausible" in warehouse().read_quarantine("raw_prices")["reason"].iloc[0]


def test_a_bar_whose_session_had_not_closed_at_its_knowledge_time_is_refused(local_repo, capsys):
    path = write_csv(local_repo / "bars.csv", two_tickers(SESSIONS))
    last_close = session_close([SESSIONS[-1]])[0]
    assert ingest(path, "--known-at", (last_close - pd.Timedelta(hours=1)).isoformat()) == 0
    counts = summary_of(capsys.readouterr().out)
    assert (counts["new"], counts["unclosed"]) == (38, 2)
    assert warehouse().read_bars(start=SESSIONS[-1], end=SESSIONS[-1]).empty


def test_adjusted_prices_refuse_action_columns(local_repo, capsys):
    lines = two_tickers(SESSIONS)
    lines[3] = lines[3][: -len(",,")] + ",0.5,"
    path = write_csv(local_repo / "bars.csv", lines)
    assert ingest(path, "--adjusted") == 2
    assert "already adjusted" in capsys.readouterr().err


def test_adjusted_prices_load_without_actions(local_repo, capsys):
    path = write_csv(local_repo / "bars.csv", two_tickers(SESSIONS))
    assert ingest(path, "--adjusted") == 0
    assert summary_of(capsys.readouterr().out)["new"] == 40
    assert warehouse().read_actions().empty


def test_adjusted_prices_are_refused_for_tickers_with_stored_actions(local_repo, capsys):
    lines = two_tickers(SESSIONS)
    lines[3] = lines[3][: -len(",,")] + ",0.5,"
    raw = write_csv(local_repo / "raw.csv", lines)
    assert ingest(raw) == 0
    adjusted = write_csv(local_repo / "adjusted.csv", two_tickers(SESSIONS, acme_close=lambda i: 99.5 + i))
    assert ingest(adjusted, "--adjusted") == 2
    assert "count them twice" in capsys.readouterr().err
    assert warehouse().read_bars(["ACME"], SESSIONS[0], SESSIONS[0])["close"].iloc[0] == pytest.approx(100.0)
