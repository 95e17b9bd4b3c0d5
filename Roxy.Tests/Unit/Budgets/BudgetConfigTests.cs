using Roxy.Api.Configuration;
using Roxy.Grains.Budgets;

namespace Roxy.Tests.Unit.Budgets;

/// <summary><c>budget:</c> on tenants, tokens and the top level: bound, validated one line per problem, and resolved.</summary>
public sealed class BudgetConfigTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("roxy-budget-config-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static readonly Dictionary<string, string?> Env = new(StringComparer.Ordinal)
    {
        ["ROXY_TOKEN"] = "default-token-0123456789",
        ["APP_TOKEN"] = "default-app-token-0123456789",
        ["ACME_TOKEN"] = "acme-token-0123456789",
    };

    [Fact]
    public void Budgets_resolve_for_the_default_tenant_its_tokens_and_other_tenants()
    {
        var result = ConfigLoader.Load(Write("""
            budget: { daily_usd: 5, monthly_usd: 100.5 }
            tokens:
              - { token_env: ROXY_TOKEN, role: admin }
              - { token_env: APP_TOKEN, role: member, budget: { daily_usd: 0.25 } }
            tenants:
              - id: acme
                budget: { monthly_usd: 20 }
                tokens: [{ token_env: ACME_TOKEN, role: admin }]
            """), Env);

        Assert.Empty(result.Errors);
        var tenants = result.Config!.Tenants;
        Assert.Equal(new BudgetLimits(5m, 100.5m), tenants[0].Budget);
        Assert.Null(tenants[0].Tokens[0].Budget);
        Assert.Equal(new BudgetLimits(0.25m, null), tenants[0].Tokens[1].Budget);
        Assert.Equal(new BudgetLimits(null, 20m), tenants[1].Budget);
    }

    [Fact]
    public void A_budget_changes_the_config_fingerprint_and_its_absence_keeps_the_old_one()
    {
        const string tokens = "tokens: [{ token_env: ROXY_TOKEN, role: admin }]\n";
        var plain = ConfigLoader.Load(Write(tokens), Env).Config!.Fingerprint;
        var empty = ConfigLoader.Load(Write(tokens + "budget: {}\n"), Env).Config!.Fingerprint;
        var budgeted = ConfigLoader.Load(Write(tokens + "budget: { daily_usd: 1 }\n"), Env).Config!.Fingerprint;

        Assert.Equal(plain, empty);
        Assert.NotEqual(plain, budgeted);
    }

    [Fact]
    public void Bad_limits_and_token_budgets_above_their_tenants_are_one_error_each()
    {
        var path = Write("""
            budget: { daily_usd: 0, monthly_usd: -3 }
            tokens: [{ token_env: ROXY_TOKEN, role: admin, budget: { daily_usd: 2e9 } }]
            tenants:
              - id: acme
                budget: { daily_usd: 1, monthly_usd: 10 }
                tokens: [{ token_env: ACME_TOKEN, role: admin, budget: { daily_usd: 1.5, monthly_usd: 10 } }]
            """);

        var errors = ConfigLoader.Load(path, Env).Errors;

        Assert.Equal(
            [
                "budget.daily_usd: must be an amount of USD greater than 0 and at most 1000000000, got 0; leave it out for no limit",
                "budget.monthly_usd: must be an amount of USD greater than 0 and at most 1000000000, got -3; leave it out for no limit",
                "tokens[0].budget.daily_usd: must be an amount of USD greater than 0 and at most 1000000000, got 2000000000; leave it out for no limit",
                "tenants[0].tokens[0].budget.daily_usd: 1.5 is above the tenant's daily_usd (1); a token's budget can only be lower than its tenant's",
            ],
            errors.Select(e => e[(e.IndexOf(": ", StringComparison.Ordinal) + 2)..]));
    }

    [Fact]
    public void A_limit_that_is_not_a_number_is_refused_by_the_binder()
    {
        var errors = ConfigLoader.Load(Write("""
            tokens: [{ token_env: ROXY_TOKEN, role: admin }]
            budget: { daily_usd: lots, weekly_usd: 3 }
            """), Env).Errors;

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.Contains("budget.daily_usd: must be a number, got 'lots'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("budget.weekly_usd: unknown field; allowed here: daily_usd, monthly_usd", StringComparison.Ordinal));
    }

    private string Write(string yaml)
    {
        var path = Path.Combine(_directory, $"config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }
}
