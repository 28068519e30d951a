-- The Feast offline source. Only the keys live here: migrate() adds one double precision
-- column per FeatureSpec (ALTER TABLE ... ADD COLUMN IF NOT EXISTS), so the feature list is
-- written in exactly one place (stockfeatures.features.spec.FEATURES).
CREATE TABLE IF NOT EXISTS features_daily (
    ticker            text        NOT NULL,
    event_timestamp   timestamptz NOT NULL,
    created_timestamp timestamptz NOT NULL,
    PRIMARY KEY (ticker, event_timestamp, created_timestamp)
);

-- Serving fallback and point-in-time joins look up "latest row per ticker at or before T".
CREATE INDEX IF NOT EXISTS features_daily_ticker_latest_idx
    ON features_daily (ticker, event_timestamp DESC, created_timestamp DESC);
-- Feast materialization scans a time range across all tickers.
CREATE INDEX IF NOT EXISTS features_daily_event_timestamp_idx
    ON features_daily (event_timestamp);
