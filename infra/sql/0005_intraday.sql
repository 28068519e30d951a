-- The intraday tier (issue 13): 5-minute bars and their features, bitemporal like the daily
-- tables. A bar's event_timestamp is its END (09:30-09:35 New York is stamped 09:35), the
-- instant it becomes known; a revised bar is a new row with a later created_timestamp.
-- Rejected bars go to the shared quarantine table (stage 'intraday_bars' / 'intraday_features').
CREATE TABLE IF NOT EXISTS prices_intraday (
    ticker            text             NOT NULL,
    session           date             NOT NULL,
    event_timestamp   timestamptz      NOT NULL,
    created_timestamp timestamptz      NOT NULL,
    open              double precision,
    high              double precision,
    low               double precision,
    close             double precision,
    volume            double precision,
    source            text,
    PRIMARY KEY (ticker, event_timestamp, created_timestamp)
);

-- The push cycle reads each ticker's lookback window ("bars of the last sessions up to T");
-- retention (R__timescaledb.sql, or `stockfeatures intraday-cleanup`) deletes by time.
CREATE INDEX IF NOT EXISTS prices_intraday_ticker_latest_idx
    ON prices_intraday (ticker, event_timestamp DESC, created_timestamp DESC);
CREATE INDEX IF NOT EXISTS prices_intraday_event_timestamp_idx
    ON prices_intraday (event_timestamp);

-- Feast's offline source of the intraday view (the batch source of its PushSource). Only the
-- keys live here: migrate() adds one double precision column per IntradayFeatureSpec, so the
-- feature list is written in one place (stockfeatures.intraday.spec.INTRADAY_FEATURES).
CREATE TABLE IF NOT EXISTS features_intraday (
    ticker            text        NOT NULL,
    event_timestamp   timestamptz NOT NULL,
    created_timestamp timestamptz NOT NULL,
    PRIMARY KEY (ticker, event_timestamp, created_timestamp)
);

-- Point-in-time joins and the serving fallback: latest row per ticker at or before T.
CREATE INDEX IF NOT EXISTS features_intraday_ticker_latest_idx
    ON features_intraday (ticker, event_timestamp DESC, created_timestamp DESC);
CREATE INDEX IF NOT EXISTS features_intraday_event_timestamp_idx
    ON features_intraday (event_timestamp);
