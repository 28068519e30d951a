"""The intraday lag and the market clock are derived at scrape time from what was pushed."""

from __future__ import annotations

import pandas as pd
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from stockfeatures import metrics
from stockfeatures.metrics import (
    INTRADAY_LAG_METRIC,
    MARKET_ELAPSED_METRIC,
    _IntradayLagCollector,
    market_session_elapsed_s,
    pipeline_outcome_registry,
)


def ny(text: str) -> float:
    return pd.Timestamp(text, tz="America/New_York").timestamp()


def scrape(source: CollectorRegistry, now_s: float) -> dict[tuple[str, tuple], float]:
    output = CollectorRegistry()
    output.register(_IntradayLagCollector(source, clock=lambda: now_s))
    samples = {}
    for family in text_string_to_metric_families(generate_latest(output).decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_lag_is_now_minus_the_newest_bar_end_of_each_view():
    source = CollectorRegistry()
    newest = Gauge("stockfeatures_intraday_newest_bar_end_timestamp_seconds", "test", ["view"], registry=source)
    newest.labels("intraday_5m").set(ny("2025-06-30 10:00"))
    samples = scrape(source, ny("2025-06-30 10:07:30"))
    assert samples[(INTRADAY_LAG_METRIC, (("view", "intraday_5m"),))] == 450.0
    # The lag keeps growing while nothing is pushed: it is computed when scraped.
    later = scrape(source, ny("2025-06-30 10:30"))
    assert later[(INTRADAY_LAG_METRIC, (("view", "intraday_5m"),))] == 1800.0


def test_no_push_yet_means_no_lag_series_but_the_market_clock_is_there():
    samples = scrape(CollectorRegistry(), ny("2025-06-30 10:00"))
    assert not [key for key in samples if key[0] == INTRADAY_LAG_METRIC]
    assert samples[(MARKET_ELAPSED_METRIC, ())] == 1800.0


def test_market_clock_counts_from_the_open_and_is_zero_outside_regular_hours():
    assert market_session_elapsed_s(ny("2025-06-30 09:30")) == 0.0  # the open instant: not yet
    assert market_session_elapsed_s(ny("2025-06-30 16:00")) == 6.5 * 3600  # the close bar's end
    assert market_session_elapsed_s(ny("2025-06-30 16:00:01")) == 0.0
    assert market_session_elapsed_s(ny("2025-11-28 12:00")) == 2.5 * 3600  # half day, before 13:00
    assert market_session_elapsed_s(ny("2025-11-28 13:30")) == 0.0  # half day, after its close
    assert market_session_elapsed_s(ny("2025-11-27 11:00")) == 0.0  # Thanksgiving
    assert market_session_elapsed_s(ny("2025-11-29 11:00")) == 0.0  # Saturday


def test_a_late_older_bar_never_lowers_the_newest_bar_end(monkeypatch):
    monkeypatch.setattr(metrics, "_NEWEST_BAR_ENDS", {})
    try:
        metrics.record_intraday_push("test_view", 2000.0)
        metrics.record_intraday_push("test_view", 1000.0)
        assert metrics.newest_intraday_bar_ends() == {"test_view": 2000.0}
        assert metrics.INTRADAY_NEWEST_BAR_END.labels("test_view")._value.get() == 2000.0
    finally:
        metrics.INTRADAY_NEWEST_BAR_END.remove("test_view")


def test_flows_push_their_newest_intraday_bar_ends_with_their_outcome():
    registry = pipeline_outcome_registry(True, 99.0, None, {"intraday_5m": 12.0})
    text = generate_latest(registry).decode()
    assert 'stockfeatures_intraday_newest_bar_end_timestamp_seconds{view="intraday_5m"} 12.0' in text


def test_the_metrics_page_carries_the_lag_and_the_market_clock():
    text, _ = metrics.render_latest()
    names = {family.name for family in text_string_to_metric_families(text.decode())}
    assert {INTRADAY_LAG_METRIC, MARKET_ELAPSED_METRIC} <= names
