"""The yfinance collector: real Yahoo Finance downloads, made safe to run unattended.

What yfinance does that this module exists to handle:
- `yf.download` never raises for one bad ticker: it logs the error and returns empty or
  all-NaN columns. Such tickers are reported by name in `YahooBatch.failures`; the rest go on.
- Rate limits (YFRateLimitError, "Too Many Requests") also arrive as logged per-ticker
  errors. They and network errors are retried per batch with jittered exponential backoff
  (tenacity), a bounded number of times; the wait and the sleep are injectable for tests.
- Close and Volume come split-adjusted as of the download day, so splits are undone
  (yahoo_frames) and the whole history up to today is requested to see every later split.
- During the session Yahoo returns today's in-progress bar: bars whose session has not
  closed at the collector's clock are dropped (and listed in `YahooBatch.unclosed`); bars
  after `end` (downloaded to see later splits) are counted in `outside_window`.
Value checks (positive prices, high >= low, ...) are left to the pipeline's raw gate, which
quarantines bad rows with the failing expectation instead of raising for the whole batch.
"""

from __future__ import annotations

import ast
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.wait import wait_base

from stockfeatures import trading_calendar
from stockfeatures.prices import yahoo_frames as frames
from stockfeatures.prices.source import PriceBatch, check_range
from stockfeatures.prices.tickers import validate_tickers

log = logging.getLogger(__name__)

Download = Callable[..., pd.DataFrame | None]
_ERROR_LINE = re.compile(r"^(\[.*?\]): (.*)$", re.DOTALL)
_RATE_LIMIT_MARKERS = ("YFRateLimitError", "Too Many Requests", "Rate limited")


def _empty_missing() -> pd.DataFrame:
    return pd.DataFrame({"ticker": pd.Series(dtype=object), "session": pd.Series(dtype="datetime64[ns]")})


@dataclass(frozen=True)
class YahooBatch(PriceBatch):
    """A PriceBatch plus what went wrong, for the run report.

    failures: ticker -> why it has no bars (yfinance's own message when it logged one).
    missing: (ticker, session) the XNYS calendar has but Yahoo did not return.
    unclosed: bars dropped because their session had not closed at fetch time.
    """

    failures: dict[str, str] = field(default_factory=dict)
    missing: pd.DataFrame = field(default_factory=_empty_missing)
    unclosed: pd.DataFrame = field(default_factory=_empty_missing)


class YahooRateLimited(RuntimeError):
    """Yahoo kept rate-limiting a batch through every allowed try."""


def default_download(*args, **kwargs) -> pd.DataFrame | None:
    import yfinance

    return yfinance.download(*args, **kwargs)


def is_transient(error: BaseException) -> bool:
    """Worth another try: rate limits and network trouble (requests and curl_cffi errors are
    OSErrors), never a programming or data error."""
    from yfinance.exceptions import YFRateLimitError

    return isinstance(error, YFRateLimitError | YahooRateLimited | OSError)


class _YahooErrorLog(logging.Handler):
    """Collects the per-ticker errors yf.download logs instead of raising."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.by_symbol: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        match = _ERROR_LINE.match(record.getMessage())
        if not match:
            return
        try:
            symbols = ast.literal_eval(match.group(1))
        except (ValueError, SyntaxError):
            return
        for symbol in symbols if isinstance(symbols, list) else []:
            self.by_symbol[str(symbol).upper()] = match.group(2).strip()


def _utc_now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


class YahooSource:
    """PriceSource over yf.download; every network-facing knob can be injected."""

    name = "yfinance"

    def __init__(
        self,
        download: Download | None = None,
        *,
        batch_size: int = 50,
        max_tries: int = 5,
        wait: wait_base | None = None,
        sleep: Callable[[float], None] = time.sleep,
        throttle_seconds: float = 1.0,
        clock: Callable[[], pd.Timestamp] = _utc_now,
        threads: bool = True,
    ) -> None:
        if batch_size < 1 or max_tries < 1:
            raise ValueError("batch_size and max_tries must be at least 1")
        self.download = download or default_download
        self.batch_size = batch_size
        self.max_tries = max_tries
        self.wait = wait or wait_random_exponential(multiplier=2, max=60)
        self.sleep = sleep
        self.throttle_seconds = throttle_seconds
        self.clock = clock
        self.threads = threads

    def fetch(self, tickers: Sequence[str] | None, start: date, end: date) -> YahooBatch:
        if tickers is None:
            raise ValueError("the yfinance source has no universe of its own: pass tickers "
                             "(stockfeatures.universe.load_universe() gives the configured one)")
        first, last = check_range(start, end)
        wanted = validate_tickers(tickers)
        now = pd.Timestamp(self.clock()).tz_convert("UTC")
        parts, failures = [], {}
        for number, offset in enumerate(range(0, len(wanted), self.batch_size)):
            if number and self.throttle_seconds > 0:
                self.sleep(self.throttle_seconds)
            chunk = wanted[offset:offset + self.batch_size]
            long, chunk_failures = self._download_chunk(chunk, first, now)
            parts.append(long)
            failures.update(chunk_failures)
        return self._assemble(parts, wanted, failures, first, last, now)

    def _download_chunk(self, tickers: list[str], first: pd.Timestamp,
                        now: pd.Timestamp) -> tuple[pd.DataFrame, dict[str, str]]:
        symbols = {frames.to_yahoo_symbol(t): t for t in tickers}
        try:
            frame, logged = self._download_with_retries(list(symbols), first, now)
        except Exception as error:  # noqa: BLE001 - one batch failing must not sink the others
            if not is_transient(error):
                raise
            reason = f"gave up after {self.max_tries} tries: {type(error).__name__}: {error}"
            log.error("yfinance batch %s: %s", tickers, reason)
            return frames.flatten_download(None, []), dict.fromkeys(tickers, reason)
        long = frames.flatten_download(frame, list(symbols))
        long = long[long["symbol"].isin(symbols)]
        has_bar = ~frames.has_no_bar(long)
        failures = {}
        for symbol, ticker in symbols.items():
            if not has_bar[long["symbol"] == symbol].any():
                said = logged.get(symbol)
                failures[ticker] = (
                    f"yfinance returned no bars for {symbol}"
                    + (f" ({said})" if said else " (empty or all-NaN columns)")
                )
        return long, failures

    def download_options(self, first: pd.Timestamp, now: pd.Timestamp) -> dict:
        """Keyword arguments of one yf.download call (the intraday collector asks for 5m bars)."""
        # Always up to today: splits after `end` are baked into Yahoo's prices and must be seen.
        end_exclusive = (now.tz_convert(frames.NEW_YORK).date() + timedelta(days=1)).isoformat()
        return dict(start=first.date().isoformat(), end=end_exclusive, auto_adjust=False,
                    actions=True, group_by="column", interval="1d", progress=False,
                    threads=self.threads, multi_level_index=True)

    def _download_with_retries(self, symbols: list[str], first: pd.Timestamp,
                               now: pd.Timestamp) -> tuple[pd.DataFrame | None, dict[str, str]]:
        options = self.download_options(first, now)
        retrying = Retrying(
            stop=stop_after_attempt(self.max_tries), wait=self.wait, sleep=self.sleep,
            retry=retry_if_exception(is_transient), reraise=True,
            before_sleep=lambda state: log.warning(
                "yfinance %s: %s, try %d of %d", symbols[:3], state.outcome.exception(),
                state.attempt_number, self.max_tries),
        )
        for attempt in retrying:
            with attempt:
                handler = _YahooErrorLog()
                yf_log = logging.getLogger("yfinance")
                yf_log.addHandler(handler)
                try:
                    frame = self.download(symbols, **options)
                finally:
                    yf_log.removeHandler(handler)
                limited = [s for s, message in handler.by_symbol.items()
                           if any(marker in message for marker in _RATE_LIMIT_MARKERS)]
                if limited:
                    raise YahooRateLimited(f"Yahoo rate-limited {len(limited)} symbols: {limited[:5]}")
        return frame, handler.by_symbol

    def _assemble(self, parts: list[pd.DataFrame], wanted: list[str], failures: dict[str, str],
                  first: pd.Timestamp, last: pd.Timestamp, now: pd.Timestamp) -> YahooBatch:
        long = pd.concat(parts, ignore_index=True) if parts else frames.flatten_download(None, [])
        long = long.assign(session=frames.exchange_sessions(long["stamp"]))
        long = long.drop_duplicates(subset=["symbol", "session", *frames.YAHOO_FIELDS.values()])
        factors = frames.split_factors(long)
        tickers = {frames.to_yahoo_symbol(t): t for t in wanted}
        actions = frames.corporate_actions(long, factors, tickers)
        keep = ~frames.has_no_bar(long)
        bars = frames.raw_bars(long[keep], factors[keep], tickers)

        in_range = bars["session"].dt.normalize().between(first, last)
        unclosed = in_range & (bars["event_timestamp"] > now)
        dropped = bars.loc[unclosed, ["ticker", "session"]].reset_index(drop=True)
        bars = bars[in_range & ~unclosed].sort_values(["ticker", "session"], ignore_index=True)
        actions = actions[actions["ex_date"].between(first, last)].reset_index(drop=True)

        last_closed = min(trading_calendar.latest_completed_session(now), last)
        present = [t for t in wanted if t not in failures]
        missing = frames.missing_sessions(bars, present, first, last_closed) if last_closed >= first \
            else _empty_missing()
        if failures:
            log.error("yfinance: no data for %d of %d tickers: %s", len(failures), len(wanted),
                      ", ".join(sorted(failures)))
        return YahooBatch(bars=bars, actions=actions, failures=failures, missing=missing,
                          unclosed=dropped, outside_window=int((~in_range).sum()))
