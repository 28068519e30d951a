"""Which columns each expectation reads, and the suite cut into groups over few columns.

Why: GX's pandas engine copies its whole batch for every row_condition and every domain it
reads (and fingerprints the batch twice per validation). On a 25-column feature frame that
copying was most of the gate's time (benchmarks/results/validation.md). Validating each group
of expectations on a frame of just the columns it reads gives the same verdicts and the same
row positions (the frames keep the batch's RangeIndex) for a fraction of the copying.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

COLUMN_KEYS = ("column", "column_A", "column_B")


def _condition_columns(condition) -> list[str] | None:
    """Columns a serialized GX Condition compares; None when it cannot be read (a string)."""
    if isinstance(condition, dict):
        found: list[str] = []
        for key, value in condition.items():
            if key == "column" and isinstance(value, dict) and "name" in value:
                found.append(str(value["name"]))
            elif isinstance(value, dict | list):
                inner = _condition_columns(value)
                if inner is None:
                    return None
                found.extend(inner)
        return found
    if isinstance(condition, list):
        found = []
        for item in condition:
            inner = _condition_columns(item)
            if inner is None:
                return None
            found.extend(inner)
        return found
    return None


def columns_read(kwargs: dict) -> list[str] | None:
    """The columns an expectation with these kwargs reads; None: not known, give it them all."""
    columns = [str(kwargs[k]) for k in COLUMN_KEYS if k in kwargs]
    columns += [str(c) for c in kwargs.get("column_list") or ()]
    condition = kwargs.get("row_condition")
    if condition:
        from_condition = _condition_columns(condition)
        if from_condition is None:
            return None
        columns += from_condition
    return list(dict.fromkeys(columns)) if columns else None


def groups(column_sets: Sequence[list[str] | None], all_columns: Iterable[str]) -> list[tuple[list[str], list[int]]]:
    """(columns, expectation positions) per group: an expectation joins the first group whose
    columns hold all it reads (larger sets placed first), so each group's frame is as narrow
    as its widest expectation. Unknown column sets read every column of the batch."""
    everything = list(all_columns)
    resolved = [everything if cols is None else cols for cols in column_sets]
    order = sorted(range(len(resolved)), key=lambda i: -len(resolved[i]))
    placed: list[tuple[list[str], list[int]]] = []
    for position in order:
        wanted = set(resolved[position])
        for columns, members in placed:
            if wanted <= set(columns):
                members.append(position)
                break
        else:
            placed.append((resolved[position], [position]))
    return [(columns, sorted(members)) for columns, members in placed]
