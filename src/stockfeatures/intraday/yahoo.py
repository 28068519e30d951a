"""5-minute bars from Yahoo Finance (yf.download interval="5m"), safe to run every cycle.

The daily collector (stockfeatures.prices.yahoo.YahooSource) already does the throttling
between batches, the tenacity retries of rate limits and network errors, and the
per-ticker failure report; this source inherits all of it and changes only what it asks
for and how it reads the answer:
- Yahoo keeps about 60 days of 5-minute history; an older start is refused up front,
  naming the limit, rather than coming back as 500 per-ticker errors.
- The index is tz-aware (America/New_York, `ignore_tz=False`) and labels each bar by its
  START; the event_timestamp is the end.
- While the market is open the last bar is still forming (yfinance merges the live quote
  into it): every bar that has not ended at the clock is dropped and counted `not_ended`.
- Prices come split-adjusted as of the download; splits are undone per session with the
  daily collector's split_factors, so stored bars do not depend on when they were fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import pandas as pd

from stockfeatures import trading_calendar
from stockfeatures.intraday import session_clock
from stockfeatures.intraday.normalize import split_intraday_bars
from stockfeatures.intraday.source import IntradayBatch, fetch_instant, session_range
from stockfeatures.intraday.spec import BAR_LENGTH
from stockfeatures.prices import yahoo_frames as frames
from stockfeatures.prices.tickers import validate_tickers
from stockfeatures.prices.yahoo import YahooSource

NAME = "yfinance"
HISTORY_DAYS = 60  # Yahoo serves 5-minute bars for about the last 60 days
_PRICES = ("open", "high", "low", "close")


@dataclass(frozen=True)
class YahooIntradayBatch(IntradayBatch):
    """An IntradayBatch plus `missing`: (ticker, event_timestamp) slots that had ended, lie
    between the ticker's first returned bar and the clock, and that Yahoo did not return
    (thin trading or a halt: the features read them as holes, never as stretched windows)."""

    missing: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"ticker": pd.Series(dtype=object), "event_timestamp": pd.Series(dtype="datetime64[ns, UTC]")}))


class YahooIntradayHistoryLimit(ValueError):
    """The asked start is older than the 5-minute history Yahoo keeps."""


class YahooIntradaySource(YahooSource):
    """IntradaySource over yf.download(interval="5m"); options as the daily YahooSource."""

    name = NAME

    def download_options(self, first: pd.Timestamp, now: pd.Timestamp) -> dict:
        end_exclusive = (now.tz_convert(session_clock.NEW_YORK).date() + timedelta(days=1)).isoformat()
        return dict(start=first.date().isoformat(), end=end_exclusive, interval="5m", prepost=False,
                    auto_adjust=False, actions=True, group_by="column", ignore_tz=False,
                    progress=False, threads=self.threads, multi_level_index=True)

    def fetch(self, tickers: Sequence[str] | None, start=None, end=None, as_of=None) -> IntradayBatch:
        if tickers is None:
            raise ValueError("the yfinance intraday source has no universe of its own: pass tickers")
        now = fetch_instant(as_of if as_of is not None else self.clock())
        first, last = session_range(start, end, now)
        oldest = now.tz_convert(session_clock.NEW_YORK).tz_localize(None).normalize() - pd.Timedelta(days=HISTORY_DAYS - 1)
        if first < oldest:
            raise YahooIntradayHistoryLimit(
                f"Yahoo keeps about {HISTORY_DAYS} days of 5-minute bars: start {first.date()} is before "
                f"{oldest.date()}; load older intraday bars from a CSV file (docs/csv-format.md)"
            )
        wanted = validate_tickers(tickers)
        parts, failures = [], {}
        for number, offset in enumerate(range(0, len(wanted), self.batch_size)):
            if number and self.throttle_seconds > 0:
                self.sleep(self.throttle_seconds)
            long, chunk_failures = self._download_chunk(wanted[offset:offset + self.batch_size], first, now)
            parts.append(long)
            failures.update(chunk_failures)
        return _assemble(pd.concat(parts, ignore_index=True), wanted, failures, first, last, now)


def _undo_splits(long: pd.DataFrame) -> pd.DataFrame:
    """Prices x (product of later sessions' split ratios), volume / it (prices/yahoo_frames)."""
    days = long.groupby(["symbol", "session"], as_index=False)["splits"].max()
    factors = frames.split_factors(days).set_axis(pd.MultiIndex.from_frame(days[["symbol", "session"]]))
    factor = factors.reindex(pd.MultiIndex.from_frame(long[["symbol", "session"]])).to_numpy()
    out = long.copy()
    for column in _PRICES:
        out[column] = (long[column] * factor).round(6)
    out["volume"] = (long["volume"] / factor).round(0)
    return out


def _assemble(long: pd.DataFrame, wanted: list[str], failures: dict[str, str],
              first: pd.Timestamp, last: pd.Timestamp, now: pd.Timestamp) -> IntradayBatch:
    long = long[~frames.has_no_bar(long)]  # yfinance pads every symbol to the union of stamps
    if long.empty:
        return YahooIntradayBatch(failures=failures)
    stamps = pd.to_datetime(long["stamp"])
    if not isinstance(stamps.dtype, pd.DatetimeTZDtype):
        raise ValueError("yfinance returned tz-naive 5-minute stamps; the download must keep "
                         "ignore_tz=False so each bar start is an instant")
    long = long.assign(stamp=stamps.dt.tz_convert("UTC"),
                       session=stamps.dt.tz_convert(session_clock.NEW_YORK).dt.tz_localize(None).dt.normalize())
    long = _undo_splits(long)
    inside = long["session"].between(first, last).to_numpy()
    on_clock = session_clock.locate_slots(long["stamp"]).problem.isna().to_numpy()
    forming = inside & on_clock & ~session_clock.has_ended(long["stamp"] + BAR_LENGTH, now)
    symbols = {frames.to_yahoo_symbol(t): t for t in wanted}
    keep = inside & ~forming
    frame = pd.DataFrame({"ticker": long.loc[keep, "symbol"].map(symbols), "bar_start": long.loc[keep, "stamp"],
                          **{column: long.loc[keep, column] for column in (*_PRICES, "volume")}})
    bars, rejected = split_intraday_bars(frame, source=NAME)
    return YahooIntradayBatch(bars=bars, rejected=rejected.reset_index(drop=True), failures=failures,
                              outside_window=int((~inside).sum()), not_ended=int(np.sum(forming)),
                              missing=missing_slots(bars, first, last, now))


def missing_slots(bars: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp,
                  now: pd.Timestamp) -> pd.DataFrame:
    """Ended clock slots of sessions first..last, from each ticker's first bar on, with no bar."""
    columns = ["ticker", "event_timestamp"]
    days = trading_calendar.sessions_between(first, last)
    if bars.empty or days.empty:
        return YahooIntradayBatch().missing
    ends = pd.DatetimeIndex(np.concatenate([session_clock.session_slots(d).asi8 for d in days])
                            .view("datetime64[ns]")).tz_localize("UTC") + BAR_LENGTH
    ends = ends[session_clock.has_ended(ends, now)]
    starts = bars.groupby("ticker")["event_timestamp"].min()
    grid = pd.MultiIndex.from_product([starts.index, ends], names=columns).to_frame(index=False)
    grid = grid[grid["event_timestamp"] >= grid["ticker"].map(starts)]
    merged = grid.merge(bars[columns], on=columns, how="left", indicator=True)
    return merged.loc[merged["_merge"] == "left_only", columns].reset_index(drop=True)
