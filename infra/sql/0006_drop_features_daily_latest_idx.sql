-- features_daily_ticker_latest_idx (ticker, event_timestamp DESC, created_timestamp DESC) held
-- the primary key's columns in the opposite order, and a btree is read both ways: every
-- per-ticker read ("latest row at or before T": serving fallback, point-in-time laterals,
-- lookback windows) takes the same index descent on the primary key scanned backward
-- (EXPLAIN plans: benchmarks/results/write.md). The one read that needed the DESC order, the
-- latest row of every ticker, now walks the primary key ticker by ticker
-- (postgres_sql.select_latest_rows). The index was the largest of the table's three
-- (173 MB of 342 MB at 2.5 M rows) and was maintained on every write.
DROP INDEX IF EXISTS features_daily_ticker_latest_idx;
