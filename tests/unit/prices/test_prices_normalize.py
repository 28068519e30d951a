import numpy as np
import pandas as pd
import pytest

from stockfeatures import trading_calendar
from stockfeatures.prices.frames import ACTION_COLUMNS, RAW_BAR_COLUMNS
from stockfeatures.prices.normalize import (
    InvalidActions,
    InvalidBars,
    normalize_actions,
    normalize_bars,
)

SESSIONS = ["2024-01-02", "2024-01-03", "2024-01-04"]


@pytest.fixture
def good(make_bars):
    return pd.concat(
        [make_bars("msft", SESSIONS, [370.0, 371.0, 368.0]), make_bars("AAPL", SESSIONS, [185.0, 184.0, 181.0])],
        ignore_index=True,
    )


def test_output_has_the_raw_bars_contract_columns_and_dtypes(good):
    bars = normalize_bars(good)
    assert list(bars.columns) == list(RAW_BAR_COLUMNS)
    assert bars["session"].dtype == "datetime64[ns]"
    assert str(bars["event_timestamp"].dtype) == "datetime64[ns, UTC]"
    assert str(bars["created_timestamp"].dtype) == "datetime64[ns, UTC]"
    assert all(bars[c].dtype == np.float64 for c in ("open", "high", "low", "close", "volume"))


def test_tickers_are_normalized_and_rows_sorted_by_ticker_then_session(good):
    bars = normalize_bars(good.iloc[::-1])
    assert list(bars["ticker"]) == ["AAPL"] * 3 + ["MSFT"] * 3
    assert list(bars["session"].dt.strftime("%Y-%m-%d")) == SESSIONS * 2


def test_event_timestamp_is_the_session_close_in_utc(good):
    bars = normalize_bars(good)
    # 2024-01-02 16:00 America/New_York (EST) is 21:00 UTC.
    assert bars["event_timestamp"].iloc[0] == pd.Timestamp("2024-01-02 21:00", tz="UTC")


def test_early_close_session_stamps_the_bar_at_13_00_new_york(make_bars):
    bars = normalize_bars(make_bars("AAPL", ["2024-11-29"], [230.0]))
    assert bars["event_timestamp"].iloc[0] == pd.Timestamp("2024-11-29 13:00", tz="America/New_York")


def test_first_backfill_is_known_at_its_session_close(good):
    bars = normalize_bars(good)
    assert (bars["created_timestamp"] == bars["event_timestamp"]).all()


def test_a_revision_is_known_when_it_was_learned(good):
    learned = pd.Timestamp("2024-02-01 12:00", tz="UTC")
    bars = normalize_bars(good, known_at=learned)
    assert (bars["created_timestamp"] == learned).all()
    assert bars["event_timestamp"].iloc[0] == trading_calendar.session_close(["2024-01-02"])[0]


def test_known_at_without_timezone_is_refused(good):
    with pytest.raises(ValueError, match="no timezone"):
        normalize_bars(good, known_at=pd.Timestamp("2024-02-01"))


def test_a_bar_cannot_be_known_before_its_session_closes(make_bars):
    frame = make_bars("AAPL", ["2024-01-02", "2024-01-03"], [185.0, 184.0])
    with pytest.raises(InvalidBars, match="known before its session close") as raised:
        normalize_bars(frame, known_at=pd.Timestamp("2024-01-03 15:00", tz="UTC"))
    assert list(raised.value.rows["session"]) == ["2024-01-03"]


def test_date_column_may_be_called_date_and_extra_columns_are_dropped(good):
    frame = good.rename(columns={"session": "date"}).assign(adj_close=1.0)
    bars = normalize_bars(frame)
    assert list(bars.columns) == list(RAW_BAR_COLUMNS)
    assert len(bars) == 6


def test_zero_volume_is_a_valid_bar(make_bars):
    assert normalize_bars(make_bars("AAPL", ["2024-01-02"], [185.0], volume=0.0))["volume"].iloc[0] == 0


def test_empty_input_gives_an_empty_contract_frame():
    bars = normalize_bars(pd.DataFrame())
    assert bars.empty
    assert list(bars.columns) == list(RAW_BAR_COLUMNS)


def _break(frame: pd.DataFrame, row: int, **values) -> pd.DataFrame:
    broken = frame.copy()
    for column, value in values.items():
        broken[column] = broken[column].astype(object)
        broken.at[row, column] = value
    return broken


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"close": np.nan}, "missing or non-numeric price or volume"),
        ({"volume": "many"}, "missing or non-numeric price or volume"),
        ({"open": np.inf}, "missing or non-numeric price or volume"),
        ({"low": 0.0}, "non-positive price"),
        ({"open": -1.0, "low": -2.0}, "non-positive price"),
        ({"high": 369.0}, "high below max(open, close)"),
        ({"open": 372.0, "high": 371.5}, "high below max(open, close)"),
        ({"low": 371.5}, "low above min(open, close)"),
        ({"volume": -5.0}, "negative volume"),
        ({"session": "2024-01-06"}, "not an XNYS session"),
        ({"session": "2024-07-04"}, "not an XNYS session"),
        ({"session": "not a date"}, "session is not a date"),
        ({"ticker": "MS FT"}, "invalid ticker"),
    ],
)
def test_each_bar_rule_is_enforced_and_names_rule_ticker_and_session(good, changes, rule):
    row = 1  # MSFT 2024-01-03, close 371
    broken = _break(good, row, **changes)
    with pytest.raises(InvalidBars) as raised:
        normalize_bars(broken)
    message = str(raised.value)
    assert rule in message
    assert str(broken.at[row, "ticker"]) in message
    assert str(broken.at[row, "session"]) in message
    assert raised.value.rules == (rule,)
    assert list(raised.value.rows.index) == [row]
    assert raised.value.rows["reason"].iloc[0] == rule


def test_duplicate_ticker_session_rejects_every_copy(good):
    frame = pd.concat([good, good.iloc[[4]].assign(ticker="aapl")], ignore_index=True)
    with pytest.raises(InvalidBars, match=r"duplicate \(ticker, session\)") as raised:
        normalize_bars(frame)
    assert list(raised.value.rows.index) == [4, 6]
    assert "AAPL 2024-01-03" in str(raised.value)


def test_all_broken_rules_are_reported_at_once_and_good_rows_are_not_blamed(good):
    broken = _break(_break(good, 0, volume=-1.0), 3, high=1.0)
    with pytest.raises(InvalidBars) as raised:
        normalize_bars(broken)
    assert set(raised.value.rules) == {"negative volume", "high below max(open, close)"}
    assert sorted(raised.value.rows.index) == [0, 3]
    assert "2 of 6 rows" in str(raised.value)


def test_one_row_breaking_two_rules_lists_both_reasons(good):
    broken = _break(good, 2, volume=-1.0, high=1.0)
    with pytest.raises(InvalidBars) as raised:
        normalize_bars(broken)
    assert raised.value.rows["reason"].iloc[0] == "high below max(open, close); negative volume"


def test_timezone_aware_sessions_are_refused_with_a_hint(good):
    frame = good.assign(session=pd.to_datetime(good["session"]).dt.tz_localize("America/New_York"))
    with pytest.raises(InvalidBars, match="tz-naive"):
        normalize_bars(frame)


def test_missing_columns_are_named(good):
    with pytest.raises(InvalidBars, match=r"missing columns \['volume'\]"):
        normalize_bars(good.drop(columns=["volume"]))
    with pytest.raises(InvalidBars, match="date column"):
        normalize_bars(good.drop(columns=["session"]))


def test_invalid_bars_is_a_value_error():
    assert issubclass(InvalidBars, ValueError)


# --- corporate actions ---------------------------------------------------------------


def _actions(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"ticker": ["nvda", "AAPL"], "ex_date": ["2024-06-10", "2024-05-10"],
         "kind": ["split", "Dividend"], "value": [10.0, 0.25]}
    )
    for column, value in overrides.items():
        frame[column] = frame[column].astype(object)
        frame.at[0, column] = value
    return frame


def test_actions_follow_the_contract_and_are_known_at_the_ex_date_close():
    actions = normalize_actions(_actions())
    assert list(actions.columns) == list(ACTION_COLUMNS)
    assert list(actions["ticker"]) == ["AAPL", "NVDA"]
    assert list(actions["kind"]) == ["dividend", "split"]
    assert actions["event_timestamp"].iloc[1] == pd.Timestamp("2024-06-10 16:00", tz="America/New_York")
    assert (actions["created_timestamp"] == actions["event_timestamp"]).all()


def test_actions_learned_later_carry_that_knowledge_time():
    learned = pd.Timestamp("2024-07-01", tz="UTC")
    assert (normalize_actions(_actions(), known_at=learned)["created_timestamp"] == learned).all()


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"kind": "spinoff"}, "kind is not one of ['split', 'dividend']"),
        ({"value": 0.0}, "value is not a positive number"),
        ({"value": "ten"}, "value is not a positive number"),
        ({"value": 1.0}, "split ratio of 1 (not a split)"),
        ({"ex_date": "2024-06-09"}, "not an XNYS session"),
        ({"ticker": "N V"}, "invalid ticker"),
    ],
)
def test_each_action_rule_is_enforced(changes, rule):
    with pytest.raises(InvalidActions) as raised:
        normalize_actions(_actions(**changes))
    assert rule in str(raised.value)
    assert list(raised.value.rows.index) == [0]


def test_duplicate_actions_are_rejected():
    frame = pd.concat([_actions(), _actions()], ignore_index=True)
    with pytest.raises(InvalidActions, match=r"duplicate \(ticker, ex_date, kind\)"):
        normalize_actions(frame)
