-- Roxy's prompt cache (SPEC §7): one row per cached answer, in Roxy's canonical form (UTF-8 JSON of CachedCompletion).
-- A lookup reads one row by primary key; the sweeper deletes expired rows through the expiry index. A clear or a
-- rule change never touches rows on the request path: the key changes, and the old rows are expired in the background
-- (expires_at = '-infinity') by generation or by (requested_model, rule_fingerprint).
CREATE TABLE IF NOT EXISTS roxy_prompt_cache
(
    service_id       varchar(150) NOT NULL,
    tenant_id        varchar(150) NOT NULL,
    key_hash         bytea        NOT NULL,
    generation       bigint       NOT NULL,
    requested_model  text         NOT NULL,
    rule_fingerprint text         NOT NULL,
    expires_at       timestamptz  NOT NULL,
    created_at       timestamptz  NOT NULL,
    bytes            integer      NOT NULL,
    entry            bytea        NOT NULL,
    PRIMARY KEY (service_id, tenant_id, key_hash)
);

CREATE INDEX IF NOT EXISTS ix_roxy_prompt_cache_expiry ON roxy_prompt_cache (service_id, expires_at);

-- A clear's and a rule change's chunks find the tenant's live rows of a generation or a model without rescanning the
-- tenant; rows already at '-infinity' drop out of these partial indexes, so later chunks do not see them again.
CREATE INDEX IF NOT EXISTS ix_roxy_prompt_cache_generation ON roxy_prompt_cache (service_id, tenant_id, generation)
    WHERE expires_at > '-infinity';
CREATE INDEX IF NOT EXISTS ix_roxy_prompt_cache_model ON roxy_prompt_cache (service_id, tenant_id, requested_model)
    WHERE expires_at > '-infinity';

-- One row per shard grain (tenant/first hex digit of the key): the epoch of its newest activation. A write of a cache
-- row succeeds only under the epoch of the activation that stored it, so once an activation has bumped the epoch and
-- read the shard's keys, no older activation's late write can land unseen (PromptCacheShard explains the argument).
CREATE TABLE IF NOT EXISTS roxy_prompt_cache_shard
(
    service_id varchar(150) NOT NULL,
    shard      varchar(160) NOT NULL,
    epoch      bigint       NOT NULL,
    -- Until when the epoch's activation may trust its set (PostgreSQL's clock); '-infinity' once it let go.
    lease_until timestamptz NOT NULL,
    PRIMARY KEY (service_id, shard)
);
