-- Rows rejected by a pipeline stage, kept whole (payload) so nothing is lost.
CREATE TABLE IF NOT EXISTS quarantine (
    id              bigserial PRIMARY KEY,
    stage           text        NOT NULL,
    ticker          text,
    event_timestamp timestamptz,
    reason          text        NOT NULL,
    payload         jsonb       NOT NULL,
    quarantined_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS quarantine_stage_idx ON quarantine (stage, quarantined_at);
