"""The numpy as-of merge picks, for every entity row, the row the lateral lookup would pick.

The rule, stated row by row below (brute_force), is the lateral query's: same key, ts <= t,
created <= t when filtering, the greatest (ts, created) - a null created first - and ts >= t - ttl.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from stockfeatures.offline.asof_merge import (
    MERGE_SOURCE_RATIO,
    asof_positions,
    combined_codes,
    prefer_merge,
)

NULL_CREATED = np.iinfo(np.int64).max


def brute_force(codes, ts, created, ent_codes, ent_times, ttl, by_created) -> list[int]:
    """The lateral query's WHERE and ORDER BY ... DESC LIMIT 1, one entity row at a time."""
    chosen = []
    for code, t in zip(ent_codes, ent_times, strict=True):
        candidates = [
            i for i in range(len(codes))
            if codes[i] == code and ts[i] <= t and not (ttl and ts[i] < t - ttl)
            and not (by_created and created is not None and created[i] > t)
        ]
        chosen.append(max(candidates, key=lambda i: (ts[i], 0 if created is None else created[i]))
                      if candidates else -1)
    return chosen


rows = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 30), st.integers(0, 8)), max_size=25,
    unique_by=lambda r: (r[0], r[1], r[2]),
)


@settings(max_examples=400, deadline=None)
@given(
    rows=rows,
    entity=st.lists(st.tuples(st.integers(-1, 4), st.integers(0, 40)), min_size=1, max_size=20),
    ttl=st.integers(0, 10),
    by_created=st.booleans(),
    with_created=st.booleans(),
    scale=st.sampled_from([1, 2**57]),
)
def test_merge_serves_what_the_row_by_row_rule_serves(rows, entity, ttl, by_created, with_created, scale):
    # scale 2**57 leaves no room to pack time next to the key: the rank path is taken.
    if not with_created:
        rows = list({(c, t): (c, t, 0) for c, t, _ in rows}.values())
    codes = np.array([r[0] for r in rows], dtype=np.int64)
    ts = np.array([r[1] for r in rows], dtype=np.int64) * scale
    created = (ts + np.array([r[2] for r in rows], dtype=np.int64) * scale) if with_created else None
    ent_codes = np.array([e[0] for e in entity], dtype=np.int64)
    ent_times = np.array([e[1] for e in entity], dtype=np.int64) * scale
    got = asof_positions(codes, ts, created, ent_codes, ent_times, ttl * scale, by_created)
    assert got.tolist() == brute_force(codes, ts, created, ent_codes, ent_times, ttl * scale, by_created)


def test_a_null_created_ranks_first_without_the_filter():
    codes, ts = np.array([0, 0]), np.array([5, 5])
    created = np.array([NULL_CREATED, 7])
    assert asof_positions(codes, ts, created, np.array([0]), np.array([6]), 0, False).tolist() == [0]


def test_composite_keys_get_one_code_and_a_null_part_gets_none():
    combined = combined_codes([np.array([0, 1, -1]), np.array([2, 0, 1])], [2, 3])
    assert combined.tolist() == [2, 3, -1]
    assert combined_codes([np.array([0]), np.array([0])], [2**16, 2**16]) is None


def test_auto_merges_only_when_the_source_rows_are_few_per_entity_row():
    assert prefer_merge(1_000_000, 780_000)
    assert not prefer_merge(1_000_000, 2_500_000)
    assert prefer_merge(10, 10 * MERGE_SOURCE_RATIO)
