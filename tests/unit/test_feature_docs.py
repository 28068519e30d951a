"""docs/features.md is generated from FeatureSpec and must be checked in up to date."""

from pathlib import Path

from stockfeatures import feature_docs
from stockfeatures.features.spec import FEATURES

DOC = Path(__file__).resolve().parents[2] / "docs" / "features.md"


def test_checked_in_features_doc_is_up_to_date():
    assert DOC.read_text() == feature_docs.render(), "run `stockfeatures docs` and commit docs/features.md"


def test_doc_lists_every_feature_with_its_formula():
    text = feature_docs.render()
    for spec in FEATURES:
        assert f"`{spec.name}`" in text
        assert spec.formula.replace("|", "\\|") in text
