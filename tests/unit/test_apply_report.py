"""`feast apply` output in one line: timestamp-only updates are no changes."""

from __future__ import annotations

from stockfeatures.apply_report import summarize_apply

_SOURCE = '''type: BATCH_FILE
timestamp_field: "event_timestamp"
file_options {{
  uri: "/repo/data/local/features_daily.parquet"
}}
name: "features_daily"
description: "{description}"
meta {{
  created_timestamp {{
    seconds: {seconds}
    nanos: 758056000
  }}
  last_updated_timestamp {{
    seconds: {seconds}
    nanos: 793844000
  }}
}}'''


def _updated(view: str, old_description: str, new_description: str) -> str:
    old = _SOURCE.format(description=old_description, seconds=1796159348)
    new = _SOURCE.format(description=new_description, seconds=1796159406)
    return f"Updated feature view {view}\n\tbatch_source: {old}\n -> {new}\n\n"


HEADER = ("No project found in the repository. Using project name stockfeatures defined in "
          "feature_store.yaml\nApplying changes for project stockfeatures\n")


def test_updates_that_only_move_timestamps_are_no_changes():
    output = (HEADER + _updated("returns_daily", "daily", "daily") + _updated("risk_daily", "daily", "daily")
              + "\nNo changes to infrastructure\n")
    assert summarize_apply(output, "local") == "feast apply (local): no changes"


def test_a_real_change_is_named():
    output = HEADER + _updated("returns_daily", "daily", "daily features") + _updated("risk_daily", "d", "d")
    assert summarize_apply(output, "prod") == "feast apply (prod): updated feature view returns_daily"


def test_a_first_apply_names_what_it_deployed():
    output = HEADER + ("\x1b[1m\x1b[32mCreated entity ticker\x1b[0m\nDeploying infrastructure for "
                       "returns_daily\nDeploying infrastructure for risk_daily\n")
    assert summarize_apply(output, "prod") == (
        "feast apply (prod): created entity ticker; deployed infrastructure for returns_daily; "
        "deployed infrastructure for risk_daily")
