import pytest

from stockfeatures.prices.tickers import InvalidTicker, validate_ticker, validate_tickers


def test_ticker_is_stripped_and_upper_cased():
    assert validate_ticker("  brk.b ") == "BRK.B"


@pytest.mark.parametrize("symbol", ["^GSPC", "BRK-B", "EURUSD=X", "7203.T", "A" * 20])
def test_index_share_class_and_foreign_symbols_are_tickers(symbol):
    assert validate_ticker(symbol) == symbol


@pytest.mark.parametrize("value", ["", "   ", "AAPL MSFT", "A" * 21, "AAPL$", "ÄPL", "a/b"])
def test_values_outside_the_pattern_are_refused_naming_the_value(value):
    with pytest.raises(InvalidTicker) as raised:
        validate_ticker(value)
    assert repr(value) in str(raised.value)


@pytest.mark.parametrize("value", [None, 5, b"AAPL"])
def test_non_strings_are_refused(value):
    with pytest.raises(InvalidTicker, match="must be a string"):
        validate_ticker(value)


def test_invalid_ticker_is_a_value_error():
    assert issubclass(InvalidTicker, ValueError)


def test_tickers_are_deduplicated_keeping_first_seen_order():
    assert validate_tickers(["msft", "AAPL", " msft", "spy", "aapl"]) == ["MSFT", "AAPL", "SPY"]


def test_a_single_string_is_one_ticker_not_its_letters():
    assert validate_tickers("aapl") == ["AAPL"]


def test_one_bad_ticker_fails_the_whole_list():
    with pytest.raises(InvalidTicker, match="'BAD TICKER'"):
        validate_tickers(["AAPL", "BAD TICKER"])


@pytest.mark.parametrize("value, words", [
    ("BN\0L", "control character"), ("AAPL\t", "control character"), ("ſpy", "non-ASCII"),
    ("ＡＡＰＬ", "non-ASCII"), ("SPY\u200b", "non-ASCII"),
])
def test_look_alikes_and_control_characters_are_refused_before_any_folding(value, words):
    with pytest.raises(InvalidTicker) as raised:
        validate_ticker(value)
    assert words in str(raised.value)
