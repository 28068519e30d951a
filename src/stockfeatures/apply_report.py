"""`feast apply`'s output as one line: what changed, or "no changes".

Feast 0.67 reports every view whose batch source was re-serialized as "Updated feature view
X" with the old and new protobuf text, even when the two differ only in the
`meta { created_timestamp / last_updated_timestamp }` it stamps on each apply: about 70
lines on every run for nothing. This module reads that output, drops timestamp-only
updates, and names the objects that really changed. The full output stays available at -v.
"""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EVENT = re.compile(r"^(Created|Updated|Deleted|Deploying infrastructure for|Removing infrastructure for)"
                    r" (.+?)\s*$")
_TIMESTAMP_FIELDS = re.compile(
    r"(created_timestamp|last_updated_timestamp)\s*\{\s*seconds:\s*\d+\s*(nanos:\s*\d+\s*)?\}")


def _blocks(output: str) -> list[tuple[str, str, str]]:
    """(verb, object, diff text) for each Created/Updated/Deleted line of the output."""
    blocks: list[tuple[str, str, str]] = []
    open_block = False  # a blank line ends a block's diff (Feast separates them that way)
    for line in _ANSI.sub("", output).splitlines():
        event = _EVENT.match(line)
        if event:
            blocks.append((event.group(1), event.group(2), ""))
            open_block = True
        elif not line.strip():
            open_block = False
        elif open_block:
            verb, name, diff = blocks[-1]
            blocks[-1] = (verb, name, diff + line + "\n")
    return blocks


def _only_timestamps(diff: str) -> bool:
    """True when every `old -> new` pair in the diff is equal once timestamps are removed."""
    if " -> " not in diff:
        return False
    cleaned = _TIMESTAMP_FIELDS.sub("", diff)
    cleaned = re.sub(r"meta\s*\{\s*\}", "", cleaned)
    for change in re.split(r"\n(?=\t)", cleaned.strip()):
        field_value = change.split(":", 1)[-1]
        old, _, new = field_value.partition(" -> ")
        if " ".join(old.split()) != " ".join(new.split()):
            return False
    return True


def summarize_apply(output: str, profile: str) -> str:
    """'feast apply (local): no changes' or '... : updated feature view returns_daily; ...'."""
    changes: list[str] = []
    for verb, name, diff in _blocks(output):
        if verb == "Updated" and _only_timestamps(diff):
            continue
        if verb == "Deploying infrastructure for":
            verb = "deployed infrastructure for"
        elif verb == "Removing infrastructure for":
            verb = "removed infrastructure for"
        changes.append(f"{verb.lower()} {name}")
    if not changes:
        return f"feast apply ({profile}): no changes"
    shown = "; ".join(changes[:12]) + (f"; and {len(changes) - 12} more" if len(changes) > 12 else "")
    return f"feast apply ({profile}): {shown}"
