"""sort_order must be exactly np.lexsort's order (the entity upload's row order was lexsort's)."""

from __future__ import annotations

import numpy as np
import pytest

from stockfeatures.offline.entity_frame import sort_order


def _lexsort(codes: list[np.ndarray], times: np.ndarray) -> np.ndarray:
    return np.lexsort((times, *reversed(codes)))


def _times(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    return rng.integers(low, high, n).astype("datetime64[us]")


@pytest.mark.parametrize("keys", [0, 1, 2, 3])
def test_sort_order_is_lexsorts_order_with_ties_and_null_keys(keys: int) -> None:
    rng = np.random.default_rng(keys)
    n = 200_000
    # Few distinct times and codes: many exact ties, whose input order must be kept.
    codes = [rng.integers(-1, 50, n).astype(np.int32) for _ in range(keys)]
    times = _times(rng, n, 1_600_000_000_000_000, 1_600_000_000_000_400)
    order = sort_order(codes, times)
    np.testing.assert_array_equal(order, _lexsort(codes, times))


def test_sort_order_at_the_bench_scale_packs_one_key() -> None:
    """10,000 tickers over 5 years of microseconds: the packed path, lexsort's answer."""
    rng = np.random.default_rng(12)
    n = 300_000
    codes = [rng.integers(0, 10_000, n).astype(np.int32)]
    times = _times(rng, n, 1_606_780_800_000_000, 1_764_547_200_000_000)
    np.testing.assert_array_equal(sort_order(codes, times), _lexsort(codes, times))


def test_sort_order_falls_back_when_the_keys_do_not_fit_one_int64() -> None:
    rng = np.random.default_rng(3)
    n = 50_000
    codes = [rng.integers(0, 2**20, n).astype(np.int32) for _ in range(2)]
    # 2**40 codes x a century of microseconds > 2**63.
    times = _times(rng, n, -(2**61), 2**61)
    np.testing.assert_array_equal(sort_order(codes, times), _lexsort(codes, times))


def test_sort_order_of_nothing() -> None:
    empty = np.zeros(0, dtype="datetime64[us]")
    assert len(sort_order([np.zeros(0, dtype=np.int32)], empty)) == 0
