"""Console output that shows our results, not third-party noise (unless -v).

Each known noise source is silenced at its narrowest point, because a blanket
`ignore::DeprecationWarning` would also hide warnings about our own code:

- Great Expectations 1.x imports `sre_constants` / `sre_parse`, deprecated shims in Python
  3.11+. Importing them once here, quietly, means GX's own import finds them in sys.modules
  and nothing is emitted (a warnings filter is not enough: see below).
- GX's `data_context.types.base` logger sets itself to INFO at import and says "Created
  temporary directory ... for ephemeral docs site" on every ephemeral context: a filter on
  that logger (set before GX is imported; GX's setLevel keeps filters) drops its INFO lines.
- ibis (under Feast's DuckDB offline store) calls DuckDB's `fetch_arrow_table()`, which DuckDB 2
  deprecates: filtered by module and message.
- Feast's `feature_view` module runs `warnings.simplefilter("once", DeprecationWarning)` at
  import, which puts itself in front of every filter set before it, so the ibis filter is
  restated after Feast is imported (`restate_filters_after_feast`).
- psycopg's pool logs a WARNING per failed connection attempt: raised to ERROR.
- Prefect logs every task and flow state at INFO: PREFECT_LOGGING_LEVEL defaults to WARNING
  (it is read when Prefect loads its settings, so this runs before Prefect is imported).
"""

from __future__ import annotations

import logging
import os
import warnings

GX_TEMP_DIR_LOGGER = "great_expectations.data_context.types.base"
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def _warnings_only(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING


def _install_filters() -> None:
    warnings.filterwarnings("ignore", message=r".*fetch_arrow_table\(\) is deprecated",
                            category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ibis\.")


def _preimport_sre_shims() -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"module 'sre_(constants|parse)' is deprecated",
                                category=DeprecationWarning)
        import sre_constants  # noqa: F401
        import sre_parse  # noqa: F401


def configure_output(verbose: bool = False) -> None:
    """Logging at WARNING (INFO with -v) and the known third-party noise off unless verbose."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format=LOG_FORMAT)
    if verbose:
        return
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    _preimport_sre_shims()
    # psycopg's pool logs every failed attempt while it waits for PostgreSQL; the CLI says
    # once, in its own words, that the server is unreachable (stockfeatures.cli.failures).
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
    gx_logger = logging.getLogger(GX_TEMP_DIR_LOGGER)
    if _warnings_only not in gx_logger.filters:
        gx_logger.addFilter(_warnings_only)
    _install_filters()


def restate_filters_after_feast() -> None:
    """Import Feast (its import reorders the warning filters) and put ours back in front."""
    import feast  # noqa: F401

    _install_filters()
