-- Roxy's audit log: one row per change made by a command or the admin API (SPEC §8). Its own table, so an
-- entry is a small insert rather than a rewrite of the tenant's grain state, and history has no cap to flush.
CREATE TABLE IF NOT EXISTS roxy_audit
(
    id         bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id varchar(150) NOT NULL,
    tenant_id  varchar(150) NOT NULL,
    time       timestamptz  NOT NULL,
    token_id   text         NOT NULL,
    channel    text         NOT NULL,
    action     text         NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_roxy_audit_tenant ON roxy_audit (service_id, tenant_id, id DESC);
