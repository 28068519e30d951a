"""restore_order's numpy scatter must give exactly what pyarrow's take gave (the old path)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from stockfeatures.offline.entity_frame import restore_order
from stockfeatures.offline.pit_sql import ROW_COLUMN


def _by_take(features: pa.Table, row_count: int) -> pa.Table:
    """The previous restore_order: one take of the inverse permutation."""
    rows = features.column(ROW_COLUMN).to_numpy()
    positions = np.empty(row_count, dtype=np.int64)
    positions[rows] = np.arange(row_count, dtype=np.int64)
    return features.take(pa.array(positions)).drop_columns([ROW_COLUMN])


def _part(rng: np.random.Generator, rows: np.ndarray, nulls: bool) -> pa.Table:
    n = len(rows)

    def mask() -> np.ndarray | None:
        return rng.random(n) < 0.2 if nulls else None

    stamps = rng.integers(0, 2**50, n)
    return pa.table({
        ROW_COLUMN: pa.array(rows, pa.int64()),
        "f64": pa.array(rng.standard_normal(n), mask=mask()),
        "f32": pa.array(rng.standard_normal(n).astype(np.float32), mask=mask()),
        "i32": pa.array(rng.integers(-9, 9, n).astype(np.int32), mask=mask()),
        "i64": pa.array(rng.integers(-(2**40), 2**40, n), mask=mask()),
        "flag": pa.array(rng.random(n) < 0.5, mask=mask()),
        "ts": pa.array(stamps, pa.int64(), mask=mask()).cast(pa.timestamp("us")),
        "text": pa.array([f"t{v}" for v in rng.integers(0, 50, n)], mask=mask()),
    })


@pytest.mark.parametrize("nulls", [False, True])
@pytest.mark.parametrize("parts", [1, 3])
def test_restore_order_equals_take_over_chunks_types_and_nulls(nulls: bool, parts: int) -> None:
    rng = np.random.default_rng(parts + 10 * nulls)
    n = 20_000
    order = rng.permutation(n)
    bounds = np.linspace(0, n, parts + 1).astype(int)
    features = pa.concat_tables(
        [_part(rng, order[lo:hi], nulls) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    )
    restored = restore_order(features, n)
    expected = _by_take(features, n)
    assert restored.schema == expected.schema
    assert restored.equals(expected)
    assert restored.column("f64").null_count == expected.column("f64").null_count


def test_restore_order_keeps_nan_apart_from_null() -> None:
    features = pa.table({
        ROW_COLUMN: pa.array([2, 0, 1], pa.int64()),
        "f": pa.array([np.nan, None, 1.5], pa.float64()),
    })
    restored = restore_order(features, 3).column("f").to_pylist()
    assert restored[0] is None and restored[1] == 1.5 and np.isnan(restored[2])


def test_restore_order_rejects_a_short_answer() -> None:
    features = pa.table({ROW_COLUMN: pa.array([0], pa.int64()), "f": pa.array([1.0])})
    with pytest.raises(RuntimeError, match="1 rows for 2 entity rows"):
        restore_order(features, 2)
