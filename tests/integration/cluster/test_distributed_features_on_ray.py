"""features/distributed.py through real Ray tasks on the local Ray cluster (a head and a
worker node): the frame equals single-process compute_features exactly. The property test
over random partitions runs the same passes in-process (tests/unit/features)."""

from __future__ import annotations

import pandas as pd
import pytest

from stockfeatures.features import compute_features
from stockfeatures.features.distributed import compute_features_distributed, ray_runner
from tests.unit.features.synthetic_bars import SESSIONS, random_walk_bars

pytestmark = pytest.mark.integration

NAMES = ["SPY", "AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH", "III"]


@pytest.mark.parametrize("partitions", [2, 4])
def test_ray_tasks_give_compute_features_exactly(ray_address, partitions):
    bars = pd.concat([random_walk_bars(name, SESSIONS[i * 15:], i) for i, name in enumerate(NAMES)],
                     ignore_index=True)
    bars.loc[::97, "created_timestamp"] += pd.Timedelta(days=3)  # restated bars re-date rows
    expected = compute_features(bars, benchmark="SPY")
    got = compute_features_distributed(bars, "SPY", partitions=partitions,
                                       runner=ray_runner(ray_address))
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
