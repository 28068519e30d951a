-- Raw daily bars, bitemporal: a restated bar is a new row with a later created_timestamp.
-- Rows are never updated or deleted; readers pick the latest version known at their as_of.
CREATE TABLE IF NOT EXISTS prices (
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

CREATE INDEX IF NOT EXISTS prices_event_timestamp_idx ON prices (event_timestamp);
