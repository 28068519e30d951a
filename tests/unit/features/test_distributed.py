"""features/distributed.py splits compute_features into a by-ticker and a by-session pass;
over any universe and any partition of its tickers the result is the same frame, exactly.
The passes run in-process here; tests/integration/cluster/ runs them as Ray tasks."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockfeatures.features import compute_features
from stockfeatures.features.distributed import (
    UnsplittableFeature,
    compute_features_distributed,
    partition_tickers,
    run_in_process,
)
from stockfeatures.features.panel import InvalidBars
from tests.unit.features.synthetic_bars import SESSIONS, random_walk_bars

NAMES = ["SPY", "AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG"]


@st.composite
def universes(draw) -> pd.DataFrame:
    """2-7 tickers (SPY, the benchmark, usually among them) of random spans and halts, some
    bars restated (created later than the close), some tickers twins (tied momentum)."""
    count = draw(st.integers(2, 7))
    names = NAMES[:count] if draw(st.booleans()) or count == 1 else NAMES[1:count + 1]
    parts = []
    for number, name in enumerate(names):
        first = draw(st.integers(0, 250))
        last = draw(st.integers(first + 5, len(SESSIONS)))
        sessions = SESSIONS[first:last]
        halts = draw(st.lists(st.integers(0, len(sessions) - 1), max_size=3, unique=True))
        sessions = sessions.delete(sorted(halts)) if len(sessions) - len(halts) > 2 else sessions
        twin = number > 0 and draw(st.integers(0, 4)) == 0
        seed = 11 if twin else draw(st.integers(0, 10_000))
        parts.append(random_walk_bars(name, sessions, seed))
    bars = pd.concat(parts, ignore_index=True)
    restated = draw(st.lists(st.integers(0, len(bars) - 1), max_size=6, unique=True))
    delays = pd.to_timedelta(draw(st.lists(st.integers(1, 400 * 86_400), min_size=len(restated),
                                           max_size=len(restated))), unit="s")
    bars.loc[restated, "created_timestamp"] = bars.loc[restated, "event_timestamp"] + delays
    order = draw(st.permutations(range(len(bars))))
    return bars.iloc[list(order)].reset_index(drop=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bars=universes(), data=st.data())
def test_any_partition_of_any_universe_gives_compute_features_exactly(bars, data):
    tickers = sorted(bars["ticker"].unique())
    groups_of = data.draw(st.lists(st.integers(0, len(tickers) - 1), min_size=len(tickers),
                                   max_size=len(tickers)))
    groups = [[t for t, g in zip(tickers, groups_of, strict=True) if g == number]
              for number in sorted(set(groups_of))]
    expected = compute_features(bars, benchmark="SPY")
    got = compute_features_distributed(bars, "SPY", partitions=groups, runner=run_in_process)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


@pytest.mark.parametrize("partitions", [1, 2, 3, 10])
def test_partition_counts_give_the_same_frame(partitions):
    bars = pd.concat([random_walk_bars(name, SESSIONS[i * 20:], i) for i, name in enumerate(NAMES)],
                     ignore_index=True)
    expected = compute_features(bars, benchmark="SPY")
    got = compute_features_distributed(bars, "SPY", partitions=partitions, runner=run_in_process)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got["mom_12_1_rank"].notna().sum() > 1000  # the by-session pass had work to do


def test_partitions_split_sorted_tickers_evenly():
    assert partition_tickers(["D", "A", "C", "B", "E"], 2) == [["A", "B", "C"], ["D", "E"]]
    assert partition_tickers(["A"], 4) == [["A"]]


def test_partitions_must_hold_every_ticker_exactly_once():
    bars = pd.concat([random_walk_bars(n, SESSIONS[:30], i) for i, n in enumerate(NAMES[:3])])
    with pytest.raises(ValueError, match="in no partition: BBB"):
        compute_features_distributed(bars, "SPY", partitions=[["SPY", "AAA"]], runner=run_in_process)
    with pytest.raises(ValueError, match="AAA is in partitions 0 and 1"):
        compute_features_distributed(bars, "SPY", partitions=[["SPY", "AAA"], ["AAA", "BBB"]],
                                     runner=run_in_process)


def test_bad_bars_are_refused_before_any_task_runs():
    bars = random_walk_bars("AAA", SESSIONS[:30], 1)
    bars.loc[3, "close"] = -1.0

    def no_tasks(function, arguments):
        raise AssertionError("a task ran on invalid bars")

    with pytest.raises(InvalidBars, match="positive prices"):
        compute_features_distributed(bars, "SPY", runner=no_tasks)


def test_empty_bars_give_the_empty_features_frame():
    empty = random_walk_bars("AAA", SESSIONS[:0], 1)
    pd.testing.assert_frame_equal(compute_features_distributed(empty, "SPY", runner=run_in_process),
                                  compute_features(empty, benchmark="SPY"))


def test_a_cross_sectional_feature_without_a_split_rule_is_refused(monkeypatch):
    from dataclasses import replace

    from stockfeatures.features import distributed, spec

    odd = replace(spec.FEATURES[-1], name="odd_rank", ranks=None, warm_up_with_benchmark=False)
    monkeypatch.setattr(distributed, "FEATURES", (*spec.FEATURES, odd))
    with pytest.raises(UnsplittableFeature, match="odd_rank is cross-sectional"):
        compute_features_distributed(random_walk_bars("AAA", SESSIONS[:30], 1), "SPY",
                                     runner=run_in_process)
