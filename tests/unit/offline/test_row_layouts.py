"""Binary COPY rows built per layout hold exactly the rows the byte scatter builds."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from stockfeatures.offline import row_layouts
from stockfeatures.offline.binary_columns import (
    WireColumn,
    copy_rows_body,
    fixed_wire_column,
    scattered_rows_body,
)
from stockfeatures.offline.offline_write import TargetColumn, wire_column


def _rows(body: bytes, fields: int) -> list[tuple]:
    """Parse a COPY binary row stream into tuples of each field's bytes (None = NULL)."""
    rows, at = [], 0
    while at < len(body):
        assert int.from_bytes(body[at : at + 2], "big", signed=True) == fields
        at += 2
        row = []
        for _ in range(fields):
            length = int.from_bytes(body[at : at + 4], "big", signed=True)
            at += 4
            row.append(None if length < 0 else body[at : at + length])
            at += max(length, 0)
        rows.append(tuple(row))
    return rows


def _columns(n: int, seed: int) -> list[WireColumn]:
    rng = np.random.default_rng(seed)
    tickers = pa.array([None if i % 97 == 0 else "T" * (1 + i % 4) + str(i % 7) for i in range(n)])
    values = rng.standard_normal(n)
    nulls = rng.random(n) < 0.3
    stamps = np.arange(n, dtype=np.int64).astype("datetime64[us]")
    text = TargetColumn("ticker", 25, "text")
    return [
        wire_column("ticker", tickers, text),
        fixed_wire_column(values, ">f8", nulls),
        fixed_wire_column(stamps, ">i8", None),
        WireColumn(np.full(n, -1, dtype=np.int64), np.zeros(0, np.uint8), np.zeros(n, np.int64)),
        wire_column("empty", pa.array([""] * n), text),
    ]


def test_layout_rows_are_the_scattered_rows_grouped():
    columns = _columns(5_000, seed=1)

    grouped, scattered = _rows(copy_rows_body(columns), 5), _rows(scattered_rows_body(columns), 5)

    assert sorted(grouped, key=repr) == sorted(scattered, key=repr)
    assert grouped != scattered  # several layouts, so the order differs
    assert len(set(grouped)) == len(grouped)


def test_a_batch_sliced_out_of_whole_columns_keeps_its_own_rows():
    columns = _columns(3_000, seed=2)
    batch = [WireColumn(c.lengths[1000:2000], c.payload, c.starts[1000:2000]) for c in columns]

    assert sorted(_rows(copy_rows_body(batch), 5), key=repr) == sorted(
        _rows(scattered_rows_body(batch), 5), key=repr
    )


def test_one_layout_is_byte_for_byte_the_scattered_stream():
    values = np.linspace(-1, 1, 1_000)
    columns = [fixed_wire_column(values, ">f8", None), fixed_wire_column(values, ">f4", None)]

    assert copy_rows_body(columns) == scattered_rows_body(columns)


def test_too_many_layouts_fall_back_to_row_order(monkeypatch):
    monkeypatch.setattr(row_layouts, "MAX_LAYOUTS", 3)
    columns = _columns(2_000, seed=3)

    assert copy_rows_body(columns) == scattered_rows_body(columns)
