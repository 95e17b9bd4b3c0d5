namespace Roxy.Api.Configuration;

/// <summary>A tenant token, by reference to the environment variable that holds it.</summary>
public sealed class TokenConfig
{
    [RequiredField("name the environment variable that holds the token, e.g. ROXY_TOKEN")]
    public string TokenEnv { get; set; } = "";

    [OneOf("admin", "member")]
    public string Role { get; set; } = "member";

    /// <summary>This token's own cap, at most its tenant's for each window the tenant limits.</summary>
    public BudgetConfig? Budget { get; set; }
}
