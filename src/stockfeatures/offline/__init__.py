"""Fast bitemporal point-in-time retrieval and offline writes (push) for Feast's PostgreSQL
offline store.

Select it in feature_store.yaml with
``type: stockfeatures.offline.pit_store.FastPostgreSQLOfflineStore``; see docs/pit-retrieval.md.
"""

from stockfeatures.offline.pit_store import (
    FastPostgreSQLOfflineStore,
    FastPostgreSQLOfflineStoreConfig,
)

__all__ = ["FastPostgreSQLOfflineStore", "FastPostgreSQLOfflineStoreConfig"]
