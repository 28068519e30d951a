"""Prefect 3 flows: daily_update, backfill, warm_up, and the deployments that schedule them.

Flows are thin: each task is one library call (stockfeatures.stages, the same stages the
CLI runs; validation); no feature math or SQL lives here. They run against a Prefect server when
PREFECT_API_URL is set, and in ephemeral mode (a temporary in-process API) otherwise.

Prefect reads its settings when `prefect` is first imported, and every flow module imports
this package first, so the defaults below hold for the CLI, `python -m pipelines`, the demo
and the tests alike. Each is a default only: an environment variable set by the operator wins.
"""

import os

PREFECT_DEFAULTS = {
    # Offline machines: the server's telemetry only produces error logs (see BASELINES.md).
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # A new PREFECT_HOME makes the ephemeral server create and migrate its SQLite database
    # before it answers; on a busy 2-core machine that outlasts Prefect's default 20 s and the
    # first run dies with "Timed out while attempting to connect to ephemeral Prefect API
    # server" (issue 9). The limit only bounds a failure, so a generous one costs nothing.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    "GX_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}

for _name, _value in PREFECT_DEFAULTS.items():
    os.environ.setdefault(_name, _value)
