"""A file's bad rows reach the quarantine of both stores, however odd their bytes (issue 10)."""

from __future__ import annotations

import pytest

from stockfeatures.prices.csv_source import CsvSource
from stockfeatures.stages.ingest import ingest

pytestmark = pytest.mark.integration

ROWS = [
    "ticker,date,open,high,low,close,volume,dividend,split",
    "ACME,2024-01-02,10,11,9,10,100,,",
    "BN\0L,2024-01-02,10,11,9,10,100,,",  # PostgreSQL text cannot hold a NUL
    "ſpy,2024-01-02,10,11,9,10,100,,",
    "ACME,2024-01-03,10,9,9,10,100\0,,",
    "ACME,2024-01-04,10,11,9,10,100,,",
]


def test_bad_rows_with_nul_and_look_alike_bytes_are_quarantined_and_the_rest_stored(warehouse, tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    result = ingest(CsvSource(path), warehouse)
    assert result.counts()["new_versions"] == 1 and result.counts()["quarantined"] == 4
    quarantined = warehouse.read_quarantine("raw_prices")
    assert len(quarantined) == 4
    reasons = " | ".join(quarantined["reason"])
    assert "control character U+0000" in reasons and "U+017F LATIN SMALL LETTER LONG S" in reasons
    assert "withheld" in reasons  # ACME 2024-01-04 waits behind the bad 01-03
    assert list(warehouse.read_bars()["ticker"]) == ["ACME"]
