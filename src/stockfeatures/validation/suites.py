"""Where suites come from: files in expectations/, except the generated features suite.

The raw-prices suite is hand-written JSON (its rules are about markets, not FeatureSpec); the
features suite is built from FeatureSpec on every load, so a changed bound takes effect even
if nobody regenerated expectations/features_daily.json (a test checks that file separately).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from stockfeatures.validation import feature_suite

EXPECTATIONS_ENV = "STOCKFEATURES_EXPECTATIONS_DIR"
RAW_SUITE = "raw_prices"
FEATURES_SUITE = feature_suite.SUITE_NAME
_CHECKOUT = Path(__file__).resolve().parents[3] / "expectations"


class SuiteNotFound(FileNotFoundError):
    """A suite file is missing; the message says where it was looked for."""


def expectations_dir() -> Path:
    """STOCKFEATURES_EXPECTATIONS_DIR, else the checkout's expectations/, else the repo dir's."""
    configured = os.environ.get(EXPECTATIONS_ENV)
    if configured:
        return Path(configured)
    if _CHECKOUT.is_dir():
        return _CHECKOUT
    from stockfeatures.config import load_settings

    return load_settings().repo_dir / "expectations"


@lru_cache(maxsize=8)
def _file_document(path: Path, mtime: float) -> dict:
    return json.loads(path.read_text())


def suite_document(name: str) -> dict:
    if name == FEATURES_SUITE:
        return feature_suite.suite_document()
    path = expectations_dir() / f"{name}.json"
    if not path.exists():
        raise SuiteNotFound(f"suite {name!r} not found at {path}; set {EXPECTATIONS_ENV} to the "
                            "folder holding the suites")
    return _file_document(path, path.stat().st_mtime)


def build_suite(document: dict):
    """A GX ExpectationSuite from its JSON document (imports GX on first use only)."""
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    return ExpectationSuite(
        name=document["name"],
        expectations=[ExpectationConfiguration(**spec) for spec in document["expectations"]],
        meta=document.get("meta"),
    )
