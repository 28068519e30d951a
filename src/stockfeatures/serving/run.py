"""Starting the HTTP server: granian worker processes, no recycling.

Every worker builds its own FeatureServer from the environment (the app factory below);
`run_server` only prepares that environment. Worker recycling (`--max-requests`) is off on
purpose: `feast serve`'s default recycling drops in-flight requests (see BASELINES.md).
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import tempfile

from stockfeatures.config import Settings, load_settings
from stockfeatures.metrics import MULTIPROC_ENV

log = logging.getLogger(__name__)

APP_FACTORY = "stockfeatures.serving.run:app_from_env"


def app_from_env():
    """ASGI app factory: one FeatureServer per worker process."""
    from stockfeatures import metrics
    from stockfeatures.serving.factory import open_feature_server
    from stockfeatures.serving.http_app import create_app

    settings = load_settings()
    server = open_feature_server(settings)
    server.plans.online_views()
    server.prime()
    metrics.mark_server_start()
    app = create_app(server)
    print(f"stockfeatures serve: worker {os.getpid()} ready (profile {settings.profile}, "
          f"read deadline {server.options.read_timeout_s:g} s)", file=sys.stderr, flush=True)
    # Everything allocated so far lives for the whole process: keep the collector off it,
    # which shortens the gen-2 pauses that show up as p99 spikes.
    gc.collect()
    gc.freeze()
    return app


def run_server(settings: Settings, host: str = "127.0.0.1", port: int = 6566, workers: int = 2) -> None:
    """Serve until interrupted. infra/serve.sh is the supported launcher: it sets and wipes
    PROMETHEUS_MULTIPROC_DIR before Python starts. Called directly with several workers
    and no such directory, a fresh one is created here; that is safe because granian
    starts its workers as new processes that read the variable when they import
    prometheus-client.

    granian (a maintained Rust HTTP server) through its public API carries the latency the
    read path needs; no server internals are subclassed.
    """
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops
    from granian.log import LogLevels

    os.environ["STOCKFEATURES_PROFILE"] = settings.profile
    settings.export_feast_environment()
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="stockfeatures-metrics-")
        log.warning("%s was not set; collecting worker metrics in %s", MULTIPROC_ENV,
                    os.environ[MULTIPROC_ENV])
    print(f"stockfeatures serve: starting {workers} worker(s) on http://{host}:{port} "
          f"(profile {settings.profile}); ready when /health answers, API at /docs",
          file=sys.stderr, flush=True)
    Granian(
        APP_FACTORY,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        factory=True,
        workers=workers,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        log_level=LogLevels.warning,
        log_access=False,
        # Recycling is off (no workers_lifetime): it drops in-flight requests (BASELINES.md).
        respawn_failed_workers=True,
    ).serve()
