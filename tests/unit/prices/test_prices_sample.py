import numpy as np
import pandas as pd
import pytest

from stockfeatures import trading_calendar
from stockfeatures.prices.adjust import adjust_bars
from stockfeatures.prices.frames import ACTION_COLUMNS, RAW_BAR_COLUMNS
from stockfeatures.prices.normalize import normalize_bars
from stockfeatures.prices.sample import DEFAULT_TICKERS, SampleEvents, SampleSource
from stockfeatures.prices.tickers import UnknownTicker

EVENTS = SampleEvents()
START, END = "2021-06-01", "2022-06-30"  # holds the split, the listing and the halt


@pytest.fixture(scope="module")
def batch():
    return SampleSource().fetch(None, START, END)


def closes(bars: pd.DataFrame, ticker: str) -> pd.Series:
    one = bars[bars["ticker"] == ticker]
    return pd.Series(one["close"].to_numpy(), index=one["session"])


def test_default_universe_is_fifty_stocks_plus_the_benchmark(batch):
    assert len(DEFAULT_TICKERS) == 51
    assert len(set(DEFAULT_TICKERS)) == 51
    assert "SPY" in DEFAULT_TICKERS
    assert set(batch.bars["ticker"]) == set(DEFAULT_TICKERS)


def test_bars_follow_the_raw_bars_contract(batch):
    assert list(batch.bars.columns) == list(RAW_BAR_COLUMNS)
    assert list(batch.actions.columns) == list(ACTION_COLUMNS)
    pd.testing.assert_frame_equal(normalize_bars(batch.bars), batch.bars)


def test_bars_cover_exactly_the_xnys_sessions_of_the_range(batch):
    spy = batch.bars[batch.bars["ticker"] == "SPY"]
    sessions = trading_calendar.sessions_between(START, END)
    assert list(spy["session"]) == list(sessions)
    assert (spy["event_timestamp"] == trading_calendar.session_close(sessions)).all()


def test_ohlc_is_consistent_and_opens_gap_from_the_previous_close(batch):
    bars = batch.bars
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["volume"] > 0).all()
    spy = bars[bars["ticker"] == "SPY"]
    gaps = spy["open"].to_numpy()[1:] / spy["close"].to_numpy()[:-1] - 1
    assert (gaps != 0).mean() > 0.9 and np.abs(gaps).max() < 0.1


def test_same_seed_and_range_give_identical_bars():
    first = SampleSource(seed=11).fetch(["AAPL", "NVDA", "SPY"], "2021-07-01", "2021-08-31")
    second = SampleSource(seed=11).fetch(["AAPL", "NVDA", "SPY"], "2021-07-01", "2021-08-31")
    pd.testing.assert_frame_equal(first.bars, second.bars)
    pd.testing.assert_frame_equal(first.actions, second.actions)


def test_another_seed_gives_other_bars():
    one = SampleSource(seed=1).fetch(["AAPL"], "2021-07-01", "2021-07-30").bars
    two = SampleSource(seed=2).fetch(["AAPL"], "2021-07-01", "2021-07-30").bars
    assert not np.allclose(one["close"], two["close"])


def test_an_incremental_fetch_continues_the_backfill_exactly():
    source = SampleSource()
    backfill = source.fetch(["MSFT"], "2021-01-04", "2021-06-30").bars
    increment = source.fetch(["MSFT"], "2021-06-01", "2021-07-30").bars
    overlap = increment[increment["session"] <= pd.Timestamp("2021-06-30")].reset_index(drop=True)
    tail = backfill[backfill["session"] >= pd.Timestamp("2021-06-01")].reset_index(drop=True)
    pd.testing.assert_frame_equal(overlap, tail)


@pytest.mark.parametrize("session", ["2021-07-19", "2021-07-20", "2021-11-10", "2022-03-08",
                                     "2022-03-09", "2022-03-10", "2022-06-30"])
def test_a_one_session_fetch_gives_the_backfills_bars_bit_for_bit(batch, session):
    """The daily update fetches one session: it computes only that session's bars, so they
    must equal the backfill's (around the split, the listing and the halt included)."""
    one = SampleSource().fetch(None, session, session).bars
    stored = batch.bars[batch.bars["session"] == pd.Timestamp(session)].reset_index(drop=True)
    pd.testing.assert_frame_equal(one, stored, check_exact=True)


def test_a_tickers_bars_do_not_depend_on_the_rest_of_the_universe(batch):
    alone = SampleSource(tickers=["aapl", "ZZZZ"]).fetch(["AAPL"], START, END).bars
    pd.testing.assert_frame_equal(alone, batch.bars[batch.bars["ticker"] == "AAPL"].reset_index(drop=True))


def test_four_for_one_split_quarters_raw_prices_and_quadruples_volume(batch):
    ticker, ex = EVENTS.split_ticker, pd.Timestamp(EVENTS.split_ex_date)
    nvda = batch.bars[batch.bars["ticker"] == ticker].set_index("session")
    before = nvda.index[nvda.index.get_loc(ex) - 1]
    assert 0.2 < nvda.at[ex, "close"] / nvda.at[before, "close"] < 0.3
    volume_before = nvda.loc[:before, "volume"].tail(20).median()
    volume_after = nvda.loc[ex:, "volume"].head(20).median()
    assert volume_after / volume_before > 2
    split = batch.actions[(batch.actions["ticker"] == ticker) & (batch.actions["kind"] == "split")]
    assert split[["ex_date", "value"]].values.tolist() == [[ex, 4.0]]


def test_split_adjusted_closes_have_no_split_sized_jump(batch):
    adjusted = adjust_bars(batch.bars, batch.actions)
    returns = closes(adjusted, EVENTS.split_ticker).pct_change().dropna()
    assert returns.abs().max() < 0.25


def test_dividend_payers_go_ex_about_quarterly_for_a_small_yield(batch):
    dividends = batch.actions[batch.actions["kind"] == "dividend"]
    assert set(dividends["ticker"]) == set(EVENTS.dividend_tickers)
    per_ticker = dividends.groupby("ticker").size()
    assert per_ticker.between(4, 6).all()  # 13 months of quarterly dividends
    bars = batch.bars.set_index(["ticker", "session"])["close"]
    for ticker, ex_date, value in dividends[["ticker", "ex_date", "value"]].itertuples(index=False):
        session = trading_calendar.calendar().previous_session(ex_date)
        assert 0 < value / bars[(ticker, session)] < 0.01


def test_raw_close_drops_by_about_the_dividend_on_the_ex_date():
    # With the market move removed, the raw ex-date return is the economic return minus D/close.
    source = SampleSource()
    batch = source.fetch(["KO", "SPY"], "2021-01-04", "2022-12-30")
    ko = closes(batch.bars, "KO")
    adjusted = closes(adjust_bars(batch.bars, batch.actions), "KO")
    dividends = batch.actions[batch.actions["ticker"] == "KO"]
    for ex_date, value in dividends[["ex_date", "value"]].itertuples(index=False):
        position = ko.index.get_loc(ex_date)
        raw_return = ko.iloc[position] / ko.iloc[position - 1] - 1
        total_return = adjusted.iloc[position] / adjusted.iloc[position - 1] - 1
        assert raw_return - total_return == pytest.approx(-value / ko.iloc[position - 1], abs=1e-3)


def test_one_ticker_has_a_halted_session(batch):
    halted = batch.bars[batch.bars["ticker"] == EVENTS.halted_ticker]["session"]
    day = pd.Timestamp(EVENTS.halted_session)
    assert day not in set(halted)
    assert halted.min() < day < halted.max()
    assert len(halted) == len(trading_calendar.sessions_between(START, END)) - 1


def test_one_ticker_lists_in_the_middle_of_the_range(batch):
    listed = batch.bars[batch.bars["ticker"] == EVENTS.late_ticker]["session"]
    assert listed.min() == pd.Timestamp(EVENTS.listing_session)
    assert listed.max() == pd.Timestamp(END)


def test_betas_to_the_benchmark_are_realistic(batch):
    adjusted = adjust_bars(batch.bars, batch.actions)
    returns = adjusted.pivot(index="session", columns="ticker", values="close").pct_change(fill_method=None)
    market = returns.pop("SPY")
    betas = returns.apply(lambda r: r.cov(market) / market[r.notna()].var())
    assert betas.between(0.3, 1.7).all(), betas.sort_values()
    assert betas.between(0.5, 1.5).mean() >= 0.8
    assert betas.std() > 0.15  # a spread of betas, not 51 copies of the market


def test_a_range_without_sessions_gives_empty_frames():
    batch = SampleSource().fetch(None, "2022-01-01", "2022-01-02")  # a weekend
    assert batch.bars.empty and batch.actions.empty
    assert list(batch.bars.columns) == list(RAW_BAR_COLUMNS)


def test_actions_outside_the_range_are_not_returned():
    batch = SampleSource().fetch(None, "2022-01-03", "2022-02-28")
    assert batch.actions["ex_date"].between("2022-01-03", "2022-02-28").all()
    assert "split" not in set(batch.actions["kind"])


def test_unknown_tickers_are_named():
    with pytest.raises(UnknownTicker, match=r"\['ZZZZ'\]"):
        SampleSource().fetch(["AAPL", "zzzz"], "2022-01-03", "2022-01-31")


def test_sample_history_has_a_documented_start():
    with pytest.raises(ValueError, match="starts at 2000-01-03"):
        SampleSource().fetch(None, "1999-12-01", "2000-02-01")


def test_end_before_start_is_refused():
    with pytest.raises(ValueError, match="before start"):
        SampleSource().fetch(None, "2022-02-01", "2022-01-01")
