using Roxy.Grains.Budgets;
using Roxy.Grains.Rotation;
using Roxy.Grains.Routing;

namespace Roxy.Grains.Tenancy;

/// <summary>The persisted truth about one tenant (JSON in PostgreSQL). Secrets appear only as references.</summary>
[GenerateSerializer]
public sealed class TenantState
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public long Version { get; set; }
    [Id(2)] public List<TenantToken> Tokens { get; set; } = [];
    [Id(3)] public List<ProviderKey> Keys { get; set; } = [];

    /// <summary>Only in rows written before rules became grains; moved into their grains on activation.</summary>
    [Id(4)] public List<ModelRule> ModelRules { get; set; } = [];

    [Id(5)] public CacheSettings Cache { get; set; } = new(true, 3600, false);
    [Id(6)] public bool AllowUnlisted { get; set; } = true;
    [Id(7)] public string? ConfigFingerprint { get; set; }

    /// <summary>Only in rows written before the audit log moved to its own table; moved there on activation.</summary>
    [Id(8)] public List<AuditEntry> Audit { get; set; } = [];

    /// <summary>The index of the tenant's rules; each rule lives in its <see cref="IModelRuleGrain"/>.</summary>
    [Id(9)] public List<RuleStamp> Rules { get; set; } = [];

    /// <summary>Part of every prompt cache key; <c>#roxy cache clear</c> moves it on, so older entries are unreachable.</summary>
    [Id(10)] public long CacheGeneration { get; set; }

    /// <summary>The tenant's spending cap; null when it has none.</summary>
    [Id(11)] public BudgetLimits? Budget { get; set; }

    /// <summary>Who set <see cref="Budget"/>: a config budget follows the YAML and the operator cannot change it.</summary>
    [Id(12)] public Owner BudgetOwner { get; set; }

    /// <summary>Config tenants follow the YAML; runtime ones were created through the admin API. Rows from before are config tenants.</summary>
    [Id(13)] public Owner Owner { get; set; }
}
