"""Random bitemporal data and entity frames for the equivalence tests.

Times are drawn from a small grid on purpose: restatements share an event time, entity times
land exactly on bars, exactly ttl after them and one second either side, so the edges of the
point-in-time rule are hit in almost every example.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import strategies as st

from tests.integration.pit.feast_repo import DAILY_FEATURES, QUOTE_FEATURE, RETURNS_TTL

TICKERS = ("AAA", "BRK.B", "C")
MISSING_TICKER = "ZZZ"
FIRST_CLOSE = pd.Timestamp("2024-03-04 21:00", tz="UTC")
DAY = pd.Timedelta(days=1)
SECOND = pd.Timedelta(seconds=1)
KNOWLEDGE_LAGS = (pd.Timedelta(0), pd.Timedelta(hours=1), pd.Timedelta(hours=30), pd.Timedelta(hours=80))
ENTITY_OFFSETS = (
    pd.Timedelta(0), -SECOND, SECOND, pd.Timedelta(hours=1), pd.Timedelta(hours=30),
    DAY, DAY + SECOND, RETURNS_TTL, RETURNS_TTL + SECOND, pd.Timedelta(hours=80),
)
ENTITY_TIMEZONES = (None, "UTC", "America/New_York", "Asia/Kolkata")

values = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
)

daily_rows = st.lists(
    st.tuples(
        st.sampled_from(TICKERS),
        st.integers(0, 7),
        st.sampled_from(KNOWLEDGE_LAGS),
        st.lists(values, min_size=len(DAILY_FEATURES), max_size=len(DAILY_FEATURES)),
    ),
    max_size=30,
    unique_by=lambda row: (row[0], row[1], row[2]),
)

quote_rows = st.lists(
    st.tuples(st.sampled_from(TICKERS), st.integers(0, 7), values),
    max_size=12,
    unique_by=lambda row: (row[0], row[1]),
)

entity_rows = st.lists(
    st.tuples(
        st.sampled_from((*TICKERS, MISSING_TICKER)),
        st.integers(0, 10),
        st.sampled_from(ENTITY_OFFSETS),
    ),
    min_size=1,
    max_size=25,
)


def daily_frame(rows: list) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            {
                "ticker": ticker,
                "event_timestamp": FIRST_CLOSE + day * DAY,
                "created_timestamp": FIRST_CLOSE + day * DAY + lag,
                **dict(zip(DAILY_FEATURES, features, strict=True)),
            }
            for ticker, day, lag, features in rows
        ],
        columns=["ticker", "event_timestamp", "created_timestamp", *DAILY_FEATURES],
    )
    return frame.astype(
        {
            "ticker": "object",
            "event_timestamp": "datetime64[ns, UTC]",
            "created_timestamp": "datetime64[ns, UTC]",
            **{name: "float64" for name in DAILY_FEATURES},
        }
    )


def quotes_frame(rows: list) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            {"ticker": ticker, "event_timestamp": FIRST_CLOSE + day * DAY, QUOTE_FEATURE: value}
            for ticker, day, value in rows
        ],
        columns=["ticker", "event_timestamp", QUOTE_FEATURE],
    )
    return frame.astype(
        {"ticker": "object", "event_timestamp": "datetime64[ns, UTC]", QUOTE_FEATURE: "float64"}
    )


def entity_frame(rows: list, timezone: str | None) -> pd.DataFrame:
    """Entity rows with an extra column (`row_id`) that must come back untouched."""
    times = pd.DatetimeIndex([FIRST_CLOSE + day * DAY + offset for _, day, offset in rows])
    times = times.tz_localize(None) if timezone is None else times.tz_convert(timezone)
    return pd.DataFrame(
        {
            "row_id": range(len(rows)),
            "ticker": [ticker for ticker, _, _ in rows],
            "event_timestamp": times,
        }
    )
