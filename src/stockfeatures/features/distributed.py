"""compute_features across Ray tasks: the same frame, bit for bit, from many processes.

Two passes, because some features read other tickers:
1. By ticker. Each partition's task builds a PricePanel of its tickers plus the benchmark's
   bars (beta_60d pairs every return with the benchmark's) and computes every feature that
   depends on its own rows only, plus each row's own latest knowledge time
   (compute.own_latest_knowledge). Windows run down each ticker's column, so a ticker's
   values do not depend on which other tickers share its panel.
2. By session. Features that rank another feature across the universe on each session
   (FeatureSpec.ranks: mom_12_1_rank) and the knowledge time (the latest of every ticker's
   own latest on that session) need every ticker's pass-1 value of that session. Each task
   gets a contiguous block of sessions as a [session x ticker] grid.

The functions that do the work (partition_features, session_pass) are plain, so the
property test runs them in-process over random partitions; `compute_features_distributed`
sends them to Ray (the cluster profile's STOCKFEATURES_RAY_ADDRESS unless told otherwise).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from stockfeatures.config import load_settings
from stockfeatures.features.compute import (
    _utc_ns,
    empty_feature_rows,
    feature_columns,
    knowledge_instants,
    own_latest_knowledge,
)
from stockfeatures.features.functions import percentile_rank_by_session
from stockfeatures.features.panel import PricePanel, validate_bars
from stockfeatures.features.spec import FEATURES, FeatureSpec

log = logging.getLogger(__name__)

OWN_LATEST = "own_latest_ns"
# (function, argument tuples) -> results in order: in-process `map` or Ray tasks.
TaskRunner = Callable[[Callable[..., Any], list[tuple]], list[Any]]


class UnsplittableFeature(ValueError):
    """A cross-sectional feature this module does not know how to split into the two passes."""


def _passes() -> tuple[tuple[FeatureSpec, ...], tuple[FeatureSpec, ...]]:
    """(pass-1 specs, pass-2 specs). A cross-sectional feature must be either a benchmark
    feature (pass 1 gets the benchmark's bars) or a per-session rank of another feature."""
    by_session = tuple(spec for spec in FEATURES if spec.ranks)
    for spec in FEATURES:
        if spec.cross_sectional and not (spec.ranks or spec.warm_up_with_benchmark):
            raise UnsplittableFeature(
                f"{spec.name} is cross-sectional but neither ranks another feature by session "
                "(FeatureSpec.ranks) nor reads only the benchmark; teach features/distributed.py "
                "how to split it before computing it distributed")
    names = {spec.name for spec in FEATURES if not spec.ranks}
    for spec in by_session:
        if spec.ranks not in names:
            raise UnsplittableFeature(f"{spec.name} ranks {spec.ranks!r}, which is not a pass-1 feature")
    return tuple(spec for spec in FEATURES if not spec.ranks), by_session


def partition_tickers(tickers: Sequence[str], partitions: int) -> list[list[str]]:
    """`partitions` contiguous groups of the sorted tickers, sizes differing by at most one."""
    if partitions < 1:
        raise ValueError(f"partitions must be >= 1, got {partitions}")
    ordered = sorted(set(tickers))
    return [list(group) for group in np.array_split(np.asarray(ordered, dtype=object), partitions)
            if len(group)]


def partition_features(bars: pd.DataFrame, owned: Sequence[str], benchmark: str) -> pd.DataFrame:
    """Pass 1 for one partition. `bars` holds the owned tickers' bars and the benchmark's;
    returns the owned rows: ticker, session, event_timestamp, OWN_LATEST, pass-1 features."""
    panel = PricePanel.from_bars(bars, benchmark=benchmark, validate=False)
    first, _ = _passes()
    columns: dict[str, Any] = {
        "ticker": panel.rows["ticker"].astype(str),
        "session": panel.rows["session"],
        "event_timestamp": _utc_ns(panel.rows["event_timestamp"]),
        OWN_LATEST: own_latest_knowledge(panel),
    }
    for spec in first:
        columns[spec.name] = spec.compute(panel).astype("float64")
    frame = pd.DataFrame(columns)
    return frame[frame["ticker"].isin(set(owned))].reset_index(drop=True)


def session_pass(grids: dict[str, np.ndarray], own_latest: np.ndarray,
                 present: np.ndarray) -> dict[str, np.ndarray]:
    """Pass 2 for one block of sessions ([session x ticker] grids, `present` marks cells
    with a row): each ranked feature's grid and the per-session latest knowledge time."""
    out = {name: percentile_rank_by_session(grid) for name, grid in grids.items()}
    latest = np.where(present, own_latest, np.iinfo("int64").min).max(axis=1)
    out[OWN_LATEST] = latest
    return out


def _check_groups(groups: Sequence[Sequence[str]], tickers: np.ndarray) -> list[list[str]]:
    seen: dict[str, int] = {}
    for number, group in enumerate(groups):
        for ticker in group:
            if ticker in seen:
                raise ValueError(f"ticker {ticker} is in partitions {seen[ticker]} and {number}")
            seen[ticker] = number
    missing = sorted(set(tickers) - set(seen))
    if missing:
        raise ValueError(f"tickers in no partition: {', '.join(missing[:5])}"
                         + (f" ... ({len(missing)})" if len(missing) > 5 else ""))
    return [list(group) for group in groups if len(group)]


def run_in_process(function: Callable[..., Any], arguments: list[tuple]) -> list[Any]:
    """The TaskRunner of tests and single-process use: a plain loop."""
    return [function(*args) for args in arguments]


def ray_runner(address: str | None = None) -> TaskRunner:
    """A TaskRunner that runs each call as a Ray task on the cluster at `address` (default:
    the settings' STOCKFEATURES_RAY_ADDRESS), connecting this process once."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address or load_settings().ray_address, log_to_driver=False,
                 logging_level="ERROR")

    def run(function: Callable[..., Any], arguments: list[tuple]) -> list[Any]:
        task = ray.remote(function)
        return ray.get([task.remote(*args) for args in arguments])

    return run


def compute_features_distributed(bars: pd.DataFrame, benchmark: str | None = None, *,
                                 partitions: int | Sequence[Sequence[str]] = 4,
                                 runner: TaskRunner | None = None) -> pd.DataFrame:
    """compute_features(bars, benchmark), computed in tasks: the same frame, exactly.

    partitions: how many ticker partitions (and session blocks), or explicit ticker groups
    that together hold every ticker exactly once. runner: where tasks run (default Ray).
    Raises InvalidBars like compute_features, before any task starts."""
    if benchmark is None:
        benchmark = load_settings().benchmark_ticker
    validate_bars(bars)
    first, by_session = _passes()
    if not len(bars):
        return empty_feature_rows()
    tickers = np.asarray(sorted(set(bars["ticker"].astype(str))), dtype=object)
    groups = (partition_tickers(tickers, partitions) if isinstance(partitions, int)
              else _check_groups(partitions, tickers))
    if benchmark not in set(tickers):
        log.warning("benchmark ticker %s is not among the %d tickers in the bars; beta_60d will be NaN",
                    benchmark, len(tickers))
    runner = runner or ray_runner()
    names = bars["ticker"].astype(str)
    benchmark_rows = names == benchmark
    tasks = [(bars[names.isin(set(group)) | benchmark_rows], group, benchmark) for group in groups]
    rows = pd.concat(runner(partition_features, tasks), ignore_index=True)

    ticker_codes = pd.Index(tickers).get_indexer(rows["ticker"])
    session_codes, sessions = pd.factorize(rows["session"], sort=True)
    rows = rows.assign(_t=ticker_codes, _s=session_codes).sort_values(["_t", "_s"], kind="stable")
    rows = rows.reset_index(drop=True)
    ticker_codes, session_codes = rows["_t"].to_numpy(), rows["_s"].to_numpy()
    shape = (len(sessions), len(tickers))
    present = np.zeros(shape, dtype=bool)
    present[session_codes, ticker_codes] = True
    own_latest = np.zeros(shape, dtype="int64")
    own_latest[session_codes, ticker_codes] = rows[OWN_LATEST].to_numpy()
    grids = {}
    for spec in by_session:
        grid = np.full(shape, np.nan)
        grid[session_codes, ticker_codes] = rows[spec.ranks].to_numpy(dtype="float64")
        grids[spec.name] = grid
    blocks = [block for block in np.array_split(np.arange(len(sessions)), len(groups)) if len(block)]
    results = runner(session_pass, [({n: g[b] for n, g in grids.items()}, own_latest[b], present[b])
                                    for b in blocks])
    merged = {key: np.concatenate([result[key] for result in results]) for key in results[0]}

    created = knowledge_instants(merged[OWN_LATEST][session_codes], rows["event_timestamp"].array.asi8)
    out: dict[str, Any] = {
        "ticker": rows["ticker"].astype(str),
        "event_timestamp": rows["event_timestamp"],
        "created_timestamp": pd.Series(created, index=rows.index, name="created_timestamp"),
    }
    for spec in FEATURES:
        out[spec.name] = (pd.Series(merged[spec.name][session_codes, ticker_codes], index=rows.index)
                          if spec.ranks else rows[spec.name])
    frame = pd.DataFrame(out)
    return frame[["ticker", "event_timestamp", "created_timestamp", *feature_columns()]]
