"""The offline sources: features_daily, and the intraday push source over features_intraday.

Which kind of batch source (parquet file for `local`, PostgreSQL table for `prod`) is decided
by the profile in stockfeatures.profiles; this module only names them for Feast. The
intraday view is fed by Feast's push API (store.push to INTRADAY_PUSH_SOURCE), not by
materialize; its batch source is where pushed rows are stored offline.
"""

from feast import PushSource

from stockfeatures.intraday.spec import INTRADAY_PUSH_SOURCE
from stockfeatures.profiles import features_daily_source, features_intraday_source

features_daily = features_daily_source()

intraday_push = PushSource(
    name=INTRADAY_PUSH_SOURCE,
    batch_source=features_intraday_source(),
    description="5-minute intraday features, pushed online and offline by the intraday_push flow "
                "and POST /push",
)
