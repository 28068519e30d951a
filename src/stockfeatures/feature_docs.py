"""Renders docs/features.md from FeatureSpec so the documentation cannot drift."""

from __future__ import annotations

from pathlib import Path

from stockfeatures.features.on_demand import TARGET_VOL_FIELD, WEIGHT_FIELD
from stockfeatures.features.spec import FEATURES, service_names, view_names

HEADER = """# Features

Generated from `src/stockfeatures/features/spec.py` by `stockfeatures docs`; do not edit by
hand (a test fails when this file is out of date).

Every feature is computed per ticker per XNYS session from split- and dividend-adjusted
prices (except `dollar_volume_20d`, on raw prices) and stamped at the session close
(`event_timestamp`). Windows count the ticker's own sessions; values are NaN until the
window is full and are never forward-filled across missing sessions. Every price feature is
scale-invariant, so a later back-adjustment never changes a past value.
"""


def _bound(value: float) -> str:
    return f"{value:g}"


def render() -> str:
    lines = [HEADER, "| name | view | formula | lookback (sessions) | valid range | services |",
             "|---|---|---|---|---|---|"]
    for spec in FEATURES:
        formula = spec.formula.replace("|", "\\|")
        services = ", ".join(spec.services) or "-"
        lines.append(
            f"| `{spec.name}` | {spec.view} | {formula} | {spec.lookback} | "
            f"[{_bound(spec.valid_min)}, {_bound(spec.valid_max)}] | {services} |"
        )
    lines += ["", "## Descriptions", ""]
    lines += [f"- `{spec.name}`: {spec.description}." for spec in FEATURES]
    lines += ["", "## Feature views", ""]
    lines += [f"- `{view}`: " + ", ".join(f"`{s.name}`" for s in FEATURES if s.view == view)
              for view in view_names()]
    lines += ["", "## Feature services", ""]
    lines += [f"- `{service}`: " + ", ".join(f"`{s.name}`" for s in FEATURES if service in s.services)
              for service in service_names()]
    lines += [
        "", "## On-demand features", "",
        f"- `{WEIGHT_FIELD}` (view `vol_target`): `{TARGET_VOL_FIELD}` / `vol_20d`, where "
        f"`{TARGET_VOL_FIELD}` comes with the request; NaN when vol_20d is missing or zero.",
        "",
    ]
    return "\n".join(lines)


def write(path: Path) -> bool:
    """Write the file; return True when its content changed."""
    text = render()
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True
