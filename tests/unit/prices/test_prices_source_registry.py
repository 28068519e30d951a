import pytest

from stockfeatures.prices import source as registry
from stockfeatures.prices.csv_source import CsvSource
from stockfeatures.prices.sample import SampleSource
from stockfeatures.prices.source import (
    PriceBatch,
    PriceSource,
    UnknownSource,
    check_range,
    get_source,
    register_source,
    source_names,
)


@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch):
    monkeypatch.setattr(registry, "_BUILTIN_SOURCES", dict(registry._BUILTIN_SOURCES))
    monkeypatch.setattr(registry, "_registered", dict(registry._registered))


def test_sample_csv_and_yfinance_are_built_in():
    assert {"sample", "csv", "yfinance"} <= set(source_names())


def test_get_source_builds_the_sample_source_with_options():
    source = get_source(" Sample ", seed=3)
    assert isinstance(source, SampleSource) and source.seed == 3
    assert isinstance(source, PriceSource)


def test_get_source_builds_the_csv_source(tmp_path):
    source = get_source("csv", path=tmp_path / "bars.csv")
    assert isinstance(source, CsvSource) and isinstance(source, PriceSource)


def test_an_unknown_source_lists_the_known_ones():
    with pytest.raises(UnknownSource, match="unknown price source 'yahooo'; known: ") as raised:
        get_source("yahooo")
    known = str(raised.value).split("known: ", 1)[1].split(", ")
    assert {"csv", "sample", "yfinance"} <= set(known)
    assert known == sorted(known)


def test_a_wrong_option_names_the_option_and_the_signature():
    with pytest.raises(TypeError, match=r"'sample' cannot take options \['path'\].*signature"):
        get_source("sample", path="x.csv")


class _FixedSource:
    name = "fixed"

    def __init__(self, marker: str = "m") -> None:
        self.marker = marker

    def fetch(self, tickers, start, end) -> PriceBatch:
        return PriceBatch()


def test_a_new_source_is_one_registration_away():
    register_source("fixed", _FixedSource)
    source = get_source("FIXED", marker="x")
    assert isinstance(source, _FixedSource) and source.marker == "x"
    assert "fixed" in source_names()


def test_a_source_can_be_registered_by_import_path_and_loads_lazily():
    register_source("lazy", "stockfeatures.prices.sample:SampleSource")
    assert isinstance(get_source("lazy"), SampleSource)


def test_an_empty_batch_has_contract_columns():
    batch = PriceBatch()
    assert "event_timestamp" in batch.bars.columns and "ex_date" in batch.actions.columns


def test_fetch_ranges_are_calendar_dates_in_order():
    assert check_range("2024-01-02", "2024-01-02")[0].year == 2024
    with pytest.raises(ValueError, match="end 2024-01-01 is before start 2024-01-02"):
        check_range("2024-01-02", "2024-01-01")
    with pytest.raises(ValueError, match="calendar dates"):
        check_range("2024-01-02 10:00+00:00", "2024-01-03")
