-- Roxy's usage and cost (SPEC §6): one row per tenant, UTC day, provider, model, key and token. Usage grains add up
-- what frontends report and upsert the rows that changed every few seconds, adding to what is stored (never a write per
-- request). key_id is '' for answers from the prompt cache. Reports read a tenant's days by the primary key's prefix.
CREATE TABLE IF NOT EXISTS roxy_usage
(
    service_id        varchar(150)  NOT NULL,
    tenant_id         varchar(150)  NOT NULL,
    day               date          NOT NULL,
    provider          text          NOT NULL,
    model             text          NOT NULL,
    key_id            text          NOT NULL,
    token_id          text          NOT NULL,
    requests          bigint        NOT NULL,
    cache_hits        bigint        NOT NULL,
    prompt_tokens     bigint        NOT NULL,
    completion_tokens bigint        NOT NULL,
    cached_tokens     bigint        NOT NULL,
    cost_usd          numeric       NOT NULL,
    saved_usd         numeric       NOT NULL,
    last_at           timestamptz   NOT NULL,
    PRIMARY KEY (service_id, tenant_id, day, provider, model, key_id, token_id)
);
