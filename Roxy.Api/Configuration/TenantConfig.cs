namespace Roxy.Api.Configuration;

/// <summary>One entry of <c>tenants:</c>. Absent cache/models fall back to the top-level sections.</summary>
public sealed class TenantConfig
{
    [RequiredField("give the tenant an id, e.g. acme")]
    public string Id { get; set; } = "";

    public List<TokenConfig> Tokens { get; set; } = [];
    public List<ApiKeyConfig> ApiKeys { get; set; } = [];
    public List<ModelRuleConfig> ModelRules { get; set; } = [];
    public CacheConfig? Cache { get; set; }
    public ModelsConfig? Models { get; set; }

    /// <summary>The tenant's spending cap (SPEC §6); a runtime tenant's is set through the admin API instead.</summary>
    public BudgetConfig? Budget { get; set; }
}
