"""Data Docs: the suites and their latest verdicts as a static HTML site, in one command.

    python -m stockfeatures.validation docs            # -> data/data_docs/index.html

Flows validate in an in-memory GX context for speed; this builds a file-backed context
(under data/gx) only when someone wants to browse suites and results, validates the most
recent stored window with the same suites, and renders the site into the given folder.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from stockfeatures.validation import gx_runtime, suites
from stockfeatures.validation.prepare import prepare_features, prepare_raw

SITE = "stockfeatures"


def _site_config(out_dir: Path) -> dict:
    return {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(out_dir.resolve())},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }


def build_data_docs(frames: dict[str, pd.DataFrame], out_dir: Path, project_dir: Path) -> Path:
    """Validate each frame with the suite of the same name and render the site; returns index.html."""
    gx_runtime.quiet_environment()
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.data_context.types.base import ProgressBarsConfig

    out_dir.mkdir(parents=True, exist_ok=True)
    project_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=project_dir)
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    if SITE in context.get_config().data_docs_sites:
        context.update_data_docs_site(SITE, _site_config(out_dir))
    else:
        context.add_data_docs_site(SITE, _site_config(out_dir))
    source = context.data_sources.add_or_update_pandas("stockfeatures_frames")
    prepare = {suites.RAW_SUITE: prepare_raw, suites.FEATURES_SUITE: prepare_features}
    for name, frame in frames.items():
        suite = context.suites.add_or_update(suites.build_suite(suites.suite_document(name)))
        asset = source.add_dataframe_asset(name)
        batch = asset.add_batch_definition_whole_dataframe("whole_frame")
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=name, data=batch, suite=suite))
        checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
            name=f"{name}_checkpoint", validation_definitions=[definition],
            actions=[UpdateDataDocsAction(name="update_docs", site_names=[SITE])],
            result_format={"result_format": "SUMMARY"},
        ))
        checkpoint.run(batch_parameters={"dataframe": prepare.get(name, lambda f: f)(frame)})
    context.build_data_docs(site_names=[SITE])
    return out_dir / "index.html"


def latest_frames(settings, sessions: int = 10) -> dict[str, pd.DataFrame]:
    """The last `sessions` sessions of stored bars and freshly computed features."""
    from stockfeatures.prices.adjust import latest_versions
    from stockfeatures.profiles import open_warehouse
    from stockfeatures.stages.compute import compute_candidates
    from stockfeatures.stages.ingest_plan import refetch_window

    warehouse = open_warehouse(settings)
    try:
        bars = latest_versions(warehouse.read_bars())
        if bars.empty:
            raise LookupError("no bars stored: run a backfill or `stockfeatures ingest` first")
        last = bars["event_timestamp"].max()
        start, _ = refetch_window(last + pd.Timedelta(seconds=1), sessions)
        recent = bars[bars["session"] >= pd.Timestamp(start)]
        features = compute_candidates(warehouse, settings.benchmark_ticker, start)
    finally:
        warehouse.close()
    return {suites.RAW_SUITE: recent, suites.FEATURES_SUITE: features}
