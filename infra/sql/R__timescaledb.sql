-- Optional TimescaleDB: hypertables, compression and retention when the extension exists.
-- Everything runs through EXECUTE inside a DO block so this file also runs on plain
-- PostgreSQL (where the functions below do not exist), and any TimescaleDB failure (e.g. the
-- library is installed but not in shared_preload_libraries) rolls back to plain tables
-- instead of failing the migration.
-- Intraday tables: 1-day chunks, compressed after 7 days; raw 5-minute bars are dropped after
-- stockfeatures.intraday_retention_days (migrate() sets it from
-- STOCKFEATURES_INTRADAY_RETENTION_DAYS, default 90); a changed setting replaces the policy.
-- Intraday features are kept (backtests read them); on plain PostgreSQL the same retention is
-- `stockfeatures intraday-cleanup`.
DO $migration$
DECLARE
    retention_days integer := coalesce(nullif(current_setting('stockfeatures.intraday_retention_days', true), '')::integer, 90);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        RAISE NOTICE 'TimescaleDB not available: plain tables with indexes';
        RETURN;
    END IF;
    BEGIN
        EXECUTE 'CREATE EXTENSION IF NOT EXISTS timescaledb';
        EXECUTE $q$SELECT create_hypertable('prices', 'event_timestamp',
            chunk_time_interval => INTERVAL '30 days', migrate_data => true, if_not_exists => true)$q$;
        EXECUTE $q$SELECT create_hypertable('features_daily', 'event_timestamp',
            chunk_time_interval => INTERVAL '30 days', migrate_data => true, if_not_exists => true)$q$;
        EXECUTE $q$ALTER TABLE prices SET (timescaledb.compress,
            timescaledb.compress_segmentby = 'ticker',
            timescaledb.compress_orderby = 'event_timestamp DESC, created_timestamp DESC')$q$;
        EXECUTE $q$ALTER TABLE features_daily SET (timescaledb.compress,
            timescaledb.compress_segmentby = 'ticker',
            timescaledb.compress_orderby = 'event_timestamp DESC, created_timestamp DESC')$q$;
        EXECUTE $q$SELECT add_compression_policy('prices', INTERVAL '90 days', if_not_exists => true)$q$;
        EXECUTE $q$SELECT add_compression_policy('features_daily', INTERVAL '90 days', if_not_exists => true)$q$;
        EXECUTE $q$SELECT add_retention_policy('features_daily', INTERVAL '5 years', if_not_exists => true)$q$;
        EXECUTE $q$SELECT create_hypertable('prices_intraday', 'event_timestamp',
            chunk_time_interval => INTERVAL '1 day', migrate_data => true, if_not_exists => true)$q$;
        EXECUTE $q$SELECT create_hypertable('features_intraday', 'event_timestamp',
            chunk_time_interval => INTERVAL '1 day', migrate_data => true, if_not_exists => true)$q$;
        EXECUTE $q$ALTER TABLE prices_intraday SET (timescaledb.compress,
            timescaledb.compress_segmentby = 'ticker',
            timescaledb.compress_orderby = 'event_timestamp DESC, created_timestamp DESC')$q$;
        EXECUTE $q$ALTER TABLE features_intraday SET (timescaledb.compress,
            timescaledb.compress_segmentby = 'ticker',
            timescaledb.compress_orderby = 'event_timestamp DESC, created_timestamp DESC')$q$;
        EXECUTE $q$SELECT add_compression_policy('prices_intraday', INTERVAL '7 days', if_not_exists => true)$q$;
        EXECUTE $q$SELECT add_compression_policy('features_intraday', INTERVAL '7 days', if_not_exists => true)$q$;
        EXECUTE $q$SELECT remove_retention_policy('prices_intraday', if_exists => true)$q$;
        EXECUTE format($q$SELECT add_retention_policy('prices_intraday', INTERVAL '%s days')$q$, retention_days);
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'TimescaleDB setup failed (%): plain tables with indexes', SQLERRM;
    END;
END
$migration$;
