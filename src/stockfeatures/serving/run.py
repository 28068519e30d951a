"""Starting the HTTP server: uvicorn worker processes, no recycling.

Every worker builds its own FeatureServer from the environment (the app factory below);
`run_server` only prepares that environment. Worker recycling (`--max-requests`) is off on
purpose: `feast serve`'s default recycling drops in-flight requests (see BASELINES.md).
"""

from __future__ import annotations

import gc
import logging
import os
import tempfile

from stockfeatures.config import Settings, load_settings
from stockfeatures.metrics import MULTIPROC_ENV

log = logging.getLogger(__name__)

APP_FACTORY = "stockfeatures.serving.run:app_from_env"


def app_from_env():
    """uvicorn factory: one FeatureServer per worker process."""
    from stockfeatures import metrics
    from stockfeatures.serving.factory import open_feature_server
    from stockfeatures.serving.http_app import create_app

    server = open_feature_server(load_settings())
    server.plans.online_views()
    metrics.mark_server_start()
    app = create_app(server)
    # Everything allocated so far lives for the whole process: keep the collector off it,
    # which shortens the gen-2 pauses that show up as p99 spikes.
    gc.collect()
    gc.freeze()
    return app


def run_server(settings: Settings, host: str = "127.0.0.1", port: int = 6566, workers: int = 2) -> None:
    """Serve until interrupted. infra/serve.sh is the supported launcher: it sets and wipes
    PROMETHEUS_MULTIPROC_DIR before Python starts. Called directly with several workers
    and no such directory, a fresh one is created here; that is safe because uvicorn spawns
    its workers as new interpreters that read the variable when they import
    prometheus-client."""
    import uvicorn

    os.environ["STOCKFEATURES_PROFILE"] = settings.profile
    settings.export_feast_environment()
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="stockfeatures-metrics-")
        log.warning("%s was not set; collecting worker metrics in %s", MULTIPROC_ENV,
                    os.environ[MULTIPROC_ENV])
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        # httptools, writing each response's headers and body in one send.
        http="stockfeatures.serving.http_app:CoalescingHttpToolsProtocol",
        access_log=False,
        log_level="warning",
        limit_max_requests=None,
        timeout_keep_alive=30,
        # Loading Feast and the registry takes several seconds on a busy 2-core box; the
        # default 5 s readiness check would kill and respawn workers forever.
        timeout_worker_healthcheck=120,
    )
