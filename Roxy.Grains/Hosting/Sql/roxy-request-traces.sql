-- Roxy's request traces (SPEC §9, `#roxy why`): one row per proxied request, the UTF-8 JSON of RequestTrace (no prompt
-- text, no secret). Each tenant's trace grain inserts what frontends sent it in batches every few seconds and on
-- deactivation, and prunes the tenant to its newest rows (by insertion order, seq) and to a maximum age. A lookup the
-- grain's memory cannot answer reads one row by primary key.
CREATE TABLE IF NOT EXISTS roxy_request_traces
(
    service_id  varchar(150) NOT NULL,
    tenant_id   varchar(150) NOT NULL,
    request_id  text         NOT NULL,
    seq         bigint       GENERATED ALWAYS AS IDENTITY,
    started_at  timestamptz  NOT NULL,
    trace       jsonb        NOT NULL,
    PRIMARY KEY (service_id, tenant_id, request_id)
);

-- Pruning finds the tenant's newest rows by walking this index backwards.
CREATE INDEX IF NOT EXISTS ix_roxy_request_traces_newest ON roxy_request_traces (service_id, tenant_id, seq);
