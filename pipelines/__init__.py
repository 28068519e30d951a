"""Prefect 3 flows: daily_update, backfill, warm_up, and the deployments that schedule them.

Flows are thin: each task is one library call (stockfeatures.stages, the same stages the
CLI runs; validation); no feature math or SQL lives here. They run against a Prefect server when
PREFECT_API_URL is set, and in ephemeral mode (a temporary in-process API) otherwise.
"""

import os

# Offline machines: the server's telemetry only produces error logs (see BASELINES.md).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
