"""Which columns each bitemporal table stores, and which of them make a new version.

A stored row is a *version* of a fact identified by `key`; `created_timestamp` says when that
version became known. A new row is stored only when one of `values` differs from the version
known just before it, so re-running a day is idempotent while restatements are kept.
The feature table's columns come from FeatureSpec at call time, never from a literal list.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

CREATED = "created_timestamp"
EVENT = "event_timestamp"
ACTION_KINDS = ("split", "dividend")


@dataclass(frozen=True)
class TableSchema:
    name: str
    key: tuple[str, ...]
    values: tuple[str, ...]
    columns: tuple[str, ...]
    timestamps: tuple[str, ...] = (EVENT, CREATED)
    dates: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    texts: tuple[str, ...] = ("ticker",)
    # What a row's event_timestamp must be, checked against its `session` on write:
    # "session_close" (daily bars) or "bar_end" (5-minute bars, stockfeatures.intraday).
    stamped_at: str = "session_close"

    @property
    def version_key(self) -> tuple[str, ...]:
        """The primary key: one row per fact per knowledge time."""
        return (*self.key, CREATED)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.optional)


BARS = TableSchema(
    name="prices",
    key=("ticker", EVENT),
    values=("open", "high", "low", "close", "volume"),
    columns=("ticker", "session", "open", "high", "low", "close", "volume", EVENT, CREATED, "source"),
    dates=("session",),
    optional=("source",),
    texts=("ticker", "source"),
)

ACTIONS = TableSchema(
    name="corporate_actions",
    key=("ticker", "ex_date", "kind"),
    values=("value",),
    columns=("ticker", "ex_date", "kind", "value", EVENT, CREATED),
    dates=("ex_date",),
    texts=("ticker", "kind"),
)


def _feature_table(name: str, features: tuple[str, ...]) -> TableSchema:
    return TableSchema(name=name, key=("ticker", EVENT), values=tuple(features),
                       columns=("ticker", EVENT, CREATED, *features))


def features_schema() -> TableSchema:
    """features_daily as FeatureSpec defines it now (imported late: spec imports the math)."""
    from stockfeatures.features.spec import FEATURE_NAMES

    return _feature_table("features_daily", FEATURE_NAMES)


# Intraday tier: a 5-minute bar's event_timestamp is its end (stockfeatures.intraday.spec).
INTRADAY_BARS = replace(BARS, name="prices_intraday", stamped_at="bar_end")


def intraday_features_schema() -> TableSchema:
    """features_intraday as IntradayFeatureSpec defines it now (imported late, as above)."""
    from stockfeatures.intraday.spec import INTRADAY_FEATURE_NAMES

    return _feature_table("features_intraday", INTRADAY_FEATURE_NAMES)
