import pandas as pd
import pytest

from stockfeatures.prices.csv_source import CsvSource, InvalidCsv
from stockfeatures.prices.frames import RAW_BAR_COLUMNS
from stockfeatures.prices.sample import SampleSource
from stockfeatures.prices.tickers import UnknownTicker

HEADER = "ticker,date,open,high,low,close,volume,dividend,split\n"
GOOD = (
    HEADER
    + "aapl,2024-01-02,187.15,188.44,183.89,185.64,82488700,,\n"
    + "AAPL,2024-01-03,184.22,185.88,183.43,184.25,58414500,0.24,\n"
    + "NVDA,2024-06-07,1197.70,1216.92,1180.22,1208.88,41238600,,\n"
    + "NVDA,2024-06-10,120.37,123.10,117.01,121.79,314162700,0,10\n"
    + "NVDA,2024-06-11,121.77,122.87,118.74,120.91,222551200,,1\n"
)


def write(tmp_path, text: str, name: str = "bars.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def fetch(path, tickers=None, start="2024-01-01", end="2024-12-31"):
    return CsvSource(path).fetch(tickers, start, end)


def test_reads_bars_of_several_tickers_into_the_contract_frame(tmp_path):
    bars = fetch(write(tmp_path, GOOD)).bars
    assert list(bars.columns) == list(RAW_BAR_COLUMNS)
    assert bars["ticker"].tolist() == ["AAPL", "AAPL", "NVDA", "NVDA", "NVDA"]
    assert bars["close"].tolist() == [185.64, 184.25, 1208.88, 121.79, 120.91]
    assert bars["volume"].iloc[0] == 82488700.0
    assert bars["event_timestamp"].iloc[0] == pd.Timestamp("2024-01-02 16:00", tz="America/New_York")
    assert (bars["created_timestamp"] == bars["event_timestamp"]).all()


def test_dividend_and_split_columns_become_corporate_actions(tmp_path):
    actions = fetch(write(tmp_path, GOOD)).actions
    assert actions[["ticker", "ex_date", "kind", "value"]].values.tolist() == [
        ["AAPL", pd.Timestamp("2024-01-03"), "dividend", 0.24],
        ["NVDA", pd.Timestamp("2024-06-10"), "split", 10.0],
    ]


def test_optional_columns_may_be_left_out(tmp_path):
    text = "ticker,date,open,high,low,close,volume\nAAPL,2024-01-02,187.15,188.44,183.89,185.64,100\n"
    batch = fetch(write(tmp_path, text))
    assert len(batch.bars) == 1 and batch.actions.empty


def test_columns_may_come_in_any_order(tmp_path):
    text = "close,volume,ticker,date,open,high,low\n185.64,100,AAPL,2024-01-02,187.15,188.44,183.89\n"
    assert fetch(write(tmp_path, text)).bars["open"].tolist() == [187.15]


def test_filters_by_tickers_start_and_end(tmp_path):
    path = write(tmp_path, GOOD)
    batch = fetch(path, tickers=["nvda"], start="2024-06-08", end="2024-06-10")
    assert batch.bars["session"].tolist() == [pd.Timestamp("2024-06-10")]
    assert batch.actions["kind"].tolist() == ["split"]
    assert fetch(path, start="2024-01-03", end="2024-01-03").bars["ticker"].tolist() == ["AAPL"]


def test_a_ticker_absent_from_the_file_is_named(tmp_path):
    with pytest.raises(UnknownTicker, match=r"bars.csv has no rows for tickers \['MSFT'\]"):
        fetch(write(tmp_path, GOOD), tickers=["AAPL", "MSFT"])


def test_a_typo_in_a_column_name_is_refused_listing_the_expected_columns(tmp_path):
    path = write(tmp_path, GOOD.replace("close", "Close ", 1))
    with pytest.raises(InvalidCsv) as raised:
        fetch(path)
    message = str(raised.value)
    assert str(path) in message and "line 1" in message
    assert "unknown column 'Close ' (did you mean 'close'?)" in message
    assert "missing columns ['close']" in message
    assert "expected columns: ticker, date, open, high, low, close, volume and optionally dividend, split" in message


def test_extra_columns_are_refused_not_ignored(tmp_path):
    text = GOOD.replace("split\n", "split,adj_close\n", 1).replace(",\n", ",,1\n")
    with pytest.raises(InvalidCsv, match="unknown column 'adj_close'"):
        fetch(write(tmp_path, text))


def test_repeated_columns_are_refused(tmp_path):
    text = "ticker,date,open,high,low,close,volume,close\nAAPL,2024-01-02,1,1,1,1,1,1\n"
    with pytest.raises(InvalidCsv, match=r"repeated columns \['close'\]"):
        fetch(write(tmp_path, text))


def test_an_empty_file_is_refused(tmp_path):
    with pytest.raises(InvalidCsv, match="empty"):
        fetch(write(tmp_path, ""))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        fetch(tmp_path / "nope.csv")


def reasons_by_line(batch) -> dict[int, str]:
    return dict(zip(batch.rejected["line"], batch.rejected["reason"], strict=True))


def test_bad_cells_are_rejected_with_file_line_and_column_and_the_rest_loads(tmp_path):
    text = (
        HEADER
        + "AAPL,2024-01-02,187.15,188.44,183.89,185.64,100,,\n"
        + "\n"  # a blank line must not shift the line numbers below
        + "AAPL,2024-01-06,187.15,188.44,183.89,185.64,100,,\n"  # Saturday
        + "AAPL,01/08/2024,187.15,188.44,183.89,185.64,100,,\n"
        + "AAPL,2024-01-09,abc,188.44,183.89,,100,,\n"
        + "BAD TICKER,2024-01-10,187.15,188.44,183.89,185.64,100,-1,x\n"
    )
    batch = fetch(write(tmp_path, text))
    reasons = reasons_by_line(batch)
    assert sorted(reasons) == [4, 5, 6, 7]
    assert reasons[4] == "bars.csv line 4: not an XNYS session"
    assert reasons[5] == "bars.csv line 5: column 'date' is not a YYYY-MM-DD date"
    assert "column 'open' is blank or not a number" in reasons[6]
    assert "column 'close' is blank or not a number" in reasons[6]
    assert "invalid ticker 'BAD TICKER'" in reasons[7]
    assert "column 'dividend' is not a number >= 0" in reasons[7]
    assert "column 'split' is not a number >= 0" in reasons[7]
    assert batch.bars["session"].tolist() == [pd.Timestamp("2024-01-02")]


def test_a_row_with_too_many_fields_is_rejected_naming_the_file_and_line(tmp_path):
    batch = fetch(write(tmp_path, GOOD + "AAPL,2024-01-04,1,1,1,1,1,,,extra\n"))
    assert reasons_by_line(batch) == {7: "bars.csv line 7: 10 fields, the header has 9"}
    assert len(batch.bars) == 5


def test_a_row_with_too_few_fields_is_rejected_too(tmp_path):
    batch = fetch(write(tmp_path, GOOD + "AAPL,2024-01-04,1,1,1,1,1\n"))
    assert reasons_by_line(batch) == {7: "bars.csv line 7: 7 fields, the header has 9"}


def test_bar_rule_violations_name_the_file_line_and_keep_the_row(tmp_path):
    text = GOOD.replace("185.88,183.43", "183.00,183.43")  # high below open on line 3
    batch = fetch(write(tmp_path, text))
    assert reasons_by_line(batch) == {3: "bars.csv line 3: high below max(open, close)"}
    assert batch.rejected.loc[0, "high"] == "183.00"  # the row as the file had it
    assert len(batch.bars) == 4 and len(batch.actions) == 1  # line 3's dividend waits with its bar


def test_duplicate_rows_reject_both_lines(tmp_path):
    batch = fetch(write(tmp_path, GOOD + "AAPL,2024-01-02,187.15,188.44,183.89,185.64,1,,\n"))
    assert reasons_by_line(batch) == {2: "bars.csv line 2: duplicate (ticker, session)",
                                      7: "bars.csv line 7: duplicate (ticker, session)"}


def test_rows_outside_the_window_and_of_other_tickers_are_counted_not_dropped(tmp_path):
    batch = CsvSource(write(tmp_path, GOOD)).fetch(["NVDA"], "2024-06-08", None)
    assert (len(batch.bars), batch.outside_window, batch.not_requested) == (2, 1, 2)
    everything = CsvSource(write(tmp_path, GOOD)).fetch(None)
    assert (len(everything.bars), everything.outside_window, everything.not_requested) == (5, 0, 0)


def test_adjusted_files_may_not_carry_actions(tmp_path):
    with pytest.raises(InvalidCsv, match="already adjusted"):
        CsvSource(write(tmp_path, GOOD), adjusted=True).fetch(None)


def test_known_at_marks_a_revised_file(tmp_path):
    learned = pd.Timestamp("2025-01-15 12:00", tz="UTC")
    batch = CsvSource(write(tmp_path, GOOD), known_at=learned).fetch(None, "2024-01-01", "2024-12-31")
    assert (batch.bars["created_timestamp"] == learned).all()
    assert (batch.actions["created_timestamp"] == learned).all()


def test_sample_bars_written_in_the_documented_format_read_back_identically(tmp_path):
    sample = SampleSource(tickers=["NVDA", "KO"]).fetch(None, "2021-06-01", "2021-09-30")
    rows = sample.bars.assign(date=sample.bars["session"].dt.strftime("%Y-%m-%d"))
    for kind in ("dividend", "split"):
        chosen = sample.actions[sample.actions["kind"] == kind]
        values = chosen.set_index(["ticker", "ex_date"])["value"]
        rows[kind] = [values.get((t, s), "") for t, s in zip(rows["ticker"], rows["session"], strict=True)]
    path = tmp_path / "sample.csv"
    rows[["ticker", "date", "open", "high", "low", "close", "volume", "dividend", "split"]].to_csv(
        path, index=False
    )
    back = CsvSource(path).fetch(None, "2021-06-01", "2021-09-30")
    pd.testing.assert_frame_equal(back.bars, sample.bars)
    pd.testing.assert_frame_equal(back.actions, sample.actions)
