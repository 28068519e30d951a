"""Renders docs/features.md from FeatureSpec so the documentation cannot drift."""

from __future__ import annotations

from pathlib import Path

from stockfeatures.features.on_demand import TARGET_VOL_FIELD, WEIGHT_FIELD
from stockfeatures.features.spec import FEATURES, service_names, view_names
from stockfeatures.intraday.spec import (
    BAR_LENGTH,
    INTRADAY_FEATURES,
    INTRADAY_PUSH_SOURCE,
    INTRADAY_SERVICE,
    INTRADAY_VIEW,
    TOD_SESSIONS,
)

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


INTRADAY_HEADER = f"""## Intraday features ({int(BAR_LENGTH.total_seconds() // 60)}-minute bars)

Generated from `src/stockfeatures/intraday/spec.py`. Every feature is computed per ticker
per 5-minute bar of a regular XNYS session (78 slots, 42 on a 13:00 close) from raw traded
prices, and stamped at the bar's END (`event_timestamp`: the 09:30-09:35 bar at 09:35:00 New
York). Windows count slots of the session clock, not stored rows: a missing bar makes every
window that spans it NaN, and no window reaches into the previous session, except
`volume_tod_ratio`, which compares the same slot across the {TOD_SESSIONS} earlier sessions
that have it. `created_timestamp` = max(the bar's end, the latest knowledge time of any bar
from the session's open up to the row and of the same slot's bars in those earlier sessions),
so a revised bar never leaks into an earlier backtest.
Feature view `{INTRADAY_VIEW}` (push source `{INTRADAY_PUSH_SOURCE}`), service `{INTRADAY_SERVICE}`.
"""


def _intraday_window(spec) -> str:
    if spec.since_open:
        return "since the open"
    return str(spec.lookback_slots) if spec.lookback_slots else f"same slot, {TOD_SESSIONS} sessions"


def render_intraday() -> list[str]:
    lines = [INTRADAY_HEADER, "| name | formula | window (slots) | valid range | NaN possible with a full window |",
             "|---|---|---|---|---|"]
    for spec in INTRADAY_FEATURES:
        formula = spec.formula.replace("|", "\\|")
        lines.append(
            f"| `{spec.name}` | {formula} | {_intraday_window(spec)} | "
            f"[{_bound(spec.valid_min)}, {_bound(spec.valid_max)}] | {'yes' if spec.nan_after_warm_up else 'no'} |"
        )
    lines += ["", "### Descriptions", ""]
    lines += [f"- `{spec.name}`: {spec.description}." for spec in INTRADAY_FEATURES]
    return [*lines, ""]


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
    lines += render_intraday()
    return "\n".join(lines)


def write(path: Path) -> bool:
    """Write the file; return True when its content changed."""
    text = render()
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True
