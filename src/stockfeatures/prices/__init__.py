"""Price sources, corporate actions and their backward adjustment.

    source = get_source("sample")            # or get_source("csv", path="bars.csv")
    batch = source.fetch(None, "2024-01-02", "2024-12-31")
    adjusted = adjust_bars(batch.bars, batch.actions)
"""

from stockfeatures.prices.adjust import adjust_bars, latest_versions
from stockfeatures.prices.csv_source import CsvSource, InvalidCsv
from stockfeatures.prices.frames import (
    ACTION_COLUMNS,
    ADJUSTED_BAR_COLUMNS,
    RAW_BAR_COLUMNS,
    empty_actions,
    empty_bars,
)
from stockfeatures.prices.normalize import (
    InvalidActions,
    InvalidBars,
    normalize_actions,
    normalize_bars,
)
from stockfeatures.prices.sample import DEFAULT_TICKERS, SampleEvents, SampleSource
from stockfeatures.prices.source import (
    PriceBatch,
    PriceSource,
    UnknownSource,
    get_source,
    register_source,
    source_names,
)
from stockfeatures.prices.tickers import (
    InvalidTicker,
    UnknownTicker,
    validate_ticker,
    validate_tickers,
)

__all__ = [
    "ACTION_COLUMNS",
    "ADJUSTED_BAR_COLUMNS",
    "DEFAULT_TICKERS",
    "RAW_BAR_COLUMNS",
    "CsvSource",
    "InvalidActions",
    "InvalidBars",
    "InvalidCsv",
    "InvalidTicker",
    "PriceBatch",
    "PriceSource",
    "SampleEvents",
    "SampleSource",
    "UnknownSource",
    "UnknownTicker",
    "adjust_bars",
    "empty_actions",
    "empty_bars",
    "get_source",
    "latest_versions",
    "normalize_actions",
    "normalize_bars",
    "register_source",
    "source_names",
    "validate_ticker",
    "validate_tickers",
]
