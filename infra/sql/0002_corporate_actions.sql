-- Splits and dividends, bitemporal like prices: a corrected action is a new version.
CREATE TABLE IF NOT EXISTS corporate_actions (
    ticker            text             NOT NULL,
    ex_date           date             NOT NULL,
    kind              text             NOT NULL CHECK (kind IN ('split', 'dividend')),
    value             double precision,
    event_timestamp   timestamptz      NOT NULL,
    created_timestamp timestamptz      NOT NULL,
    PRIMARY KEY (ticker, ex_date, kind, created_timestamp)
);
