"""The one entity: a ticker symbol (upper case, validated by stockfeatures.prices.tickers)."""

from feast import Entity, ValueType

ticker = Entity(
    name="ticker",
    join_keys=["ticker"],
    value_type=ValueType.STRING,
    description="Exchange ticker symbol, upper case, e.g. AAPL, BRK.B, ^GSPC",
)
