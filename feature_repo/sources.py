"""The offline source of every daily feature: the features_daily table.

Which kind of source (parquet file for `local`, PostgreSQL table for `prod`) is decided by
the profile in stockfeatures.profiles; this module only names it for Feast.
"""

from stockfeatures.profiles import features_daily_source

features_daily = features_daily_source()
