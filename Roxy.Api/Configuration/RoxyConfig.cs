namespace Roxy.Api.Configuration;

/// <summary>The whole <c>config.yaml</c>, as written. Top-level keys, rules and tokens belong to tenant <c>default</c>.</summary>
public sealed class RoxyConfig
{
    public string ListenAddr { get; set; } = ":8080";
    public List<ApiKeyConfig> ApiKeys { get; set; } = [];
    public List<ModelRuleConfig> ModelRules { get; set; } = [];
    public List<TokenConfig> Tokens { get; set; } = [];

    /// <summary>Tenant <c>default</c>'s budget, as the top-level keys and tokens are its own (not a default for other tenants).</summary>
    public BudgetConfig? Budget { get; set; }

    public CacheConfig Cache { get; set; } = new();
    public ModelsConfig Models { get; set; } = new();
    public OrderedDictionary<string, ProviderConfig> Providers { get; set; } = [];
    public List<TenantConfig> Tenants { get; set; } = [];
    public ServerConfig Server { get; set; } = new();
    public ClusterConfig Cluster { get; set; } = new();
    public RotationConfig Rotation { get; set; } = new();
    public MetricsConfig Metrics { get; set; } = new();

    public LoggingConfig Logging { get; set; } = new();

    /// <summary>Prices that replace or extend the built-in table, keyed <c>provider:model</c> or by a bare model.</summary>
    public OrderedDictionary<string, PriceConfig> Prices { get; set; } = [];
}
