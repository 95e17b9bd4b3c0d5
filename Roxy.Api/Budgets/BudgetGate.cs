using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Globalization;
using System.Runtime.CompilerServices;
using Roxy.Api.Errors;
using Roxy.Api.Pricing;
using Roxy.Api.Protocols;
using Roxy.Api.Providers;
using Roxy.Api.Providers.Anthropic;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;
using Roxy.Grains;
using Roxy.Grains.Budgets;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Budgets;

/// <summary>
/// SPEC §6's budgets on the request path: before a request goes upstream (or is served from the cache), its worst-case
/// cost is reserved in the budget grain of the caller's token (when the token has a budget) and then of its tenant; when
/// it ends, the holds are settled to what it really cost. A tenant and token without budgets pay nothing here: no grain
/// call, one lookup in a table built once per tenant snapshot. A busy budget costs no grain call either: its requests
/// draw on this frontend's credit (<see cref="BudgetCreditLine"/>), settled and renewed in one call per quarter second.
/// </summary>
public sealed class BudgetGate(
    IGrainFactory grains, ModelPrices prices, ProviderRegistry providers, Observability.RequestObserver observer, TimeProvider time, ILogger<BudgetGate> logger)
{
    // Every token of each snapshot with its budget (null: none), keyed by the snapshot itself: built on its first
    // request, dropped with it.
    private readonly ConditionalWeakTable<TenantSnapshot, FrozenDictionary<string, BudgetLimits?>> _tokens = [];
    private readonly ConcurrentDictionary<(string Tenant, string? Token), BudgetCreditLine> _lines = new();

    /// <summary>
    /// Whether <paramref name="tenant"/> or the caller's token has a budget, checked on the snapshot (no grain call, one
    /// lookup); <see cref="BudgetCheck.UnlistedToken"/> when the snapshot does not list the caller's token yet.
    /// </summary>
    public BudgetCheck Check(ProxyRequest request, TenantSnapshot tenant)
    {
        if (!Tokens(tenant).TryGetValue(request.Identity.TokenId, out var limits))
        {
            return BudgetCheck.UnlistedToken;
        }

        return tenant.Budget is { IsEmpty: false } || limits is not null ? BudgetCheck.Applies : BudgetCheck.None;
    }

    /// <summary>Reserves the worst case and sets <see cref="ProxyRequest.BudgetHold"/>, or says why not (429 <c>budget_exceeded</c>).</summary>
    /// <remarks>
    /// Each budget is drawn from this frontend's credit when it holds one with room (no grain call), else reserved with
    /// the grain, whose refusal says why. The token first: a refusal there takes nothing from the tenant's budget.
    /// </remarks>
    public async ValueTask<ProxyError?> ReserveAsync(ProxyRequest request, TenantSnapshot tenant, ResolvedRoute route)
    {
        var tenantId = request.Identity.TenantId;
        var tokenId = request.Identity.TokenId;
        var worst = WorstCase(request, route);
        var tokenLimits = TokenBudget(request, tenant);
        var tenantLimits = tenant.Budget is { IsEmpty: false } limits ? limits : null;

        var token = default(Part);
        if (tokenLimits is not null)
        {
            var line = Line(tenantId, tokenId);
            if (line.TryDraw(tokenLimits, worst, out var creditId))
            {
                token = new Part(line, creditId, 0);
            }
            else
            {
                var granted = await line.Grain.ReserveAsync(tokenLimits, worst);
                if (!granted.Granted)
                {
                    observer.BudgetRejected(request, "token");
                    return Refused(granted, $"token {tokenId}", worst);
                }

                token = new Part(line, 0, granted.LeaseId);
            }
        }

        var own = default(Part);
        if (tenantLimits is not null)
        {
            var line = Line(tenantId, null);
            if (line.TryDraw(tenantLimits, worst, out var creditId))
            {
                own = new Part(line, creditId, 0);
            }
            else
            {
                BudgetReservation granted;
                try
                {
                    granted = await line.Grain.ReserveAsync(tenantLimits, worst);
                }
                catch
                {
                    End(token, worst, 0);
                    throw;
                }

                if (!granted.Granted)
                {
                    End(token, worst, 0);
                    observer.BudgetRejected(request, "tenant");
                    return Refused(granted, $"tenant '{tenantId}'", worst);
                }

                own = new Part(line, 0, granted.LeaseId);
            }
        }

        request.BudgetHold = new BudgetHold(own, token, worst);
        return null;
    }

    /// <summary>Settles the request's hold, if it has one, to <paramref name="actualUsd"/> (locally into a credit, or one-way calls).</summary>
    public void Settle(ProxyRequest request, decimal actualUsd)
    {
        if (request.BudgetHold is not { } hold || !hold.TryClaimSettlement())
        {
            return;
        }

        End(hold.Token, hold.ReservedUsd, actualUsd);
        End(hold.Tenant, hold.ReservedUsd, actualUsd);
    }

    /// <summary>This frontend's credit lines, for <see cref="BudgetCreditFlusher"/>.</summary>
    public ICollection<BudgetCreditLine> Lines => _lines.Values;

    /// <summary>The line to one budget (a tenant's, or a token's with <paramref name="tokenId"/>), made on first use.</summary>
    public BudgetCreditLine Line(string tenantId, string? tokenId) =>
        _lines.TryGetValue((tenantId, tokenId), out var line)
            ? line
            : _lines.GetOrAdd((tenantId, tokenId), static (key, state) =>
                new BudgetCreditLine(state.grains.GetGrain<IBudgetGrain>(GrainKeys.Budget(key.Tenant, key.Token)), state.time, state.logger), (grains, time, logger));

    /// <summary>One budget's share of a hold: <see cref="CreditId"/> when drawn from a credit, else a grain <see cref="Lease"/>.</summary>
    public readonly record struct Part(BudgetCreditLine? Line, long CreditId, long Lease);

    private void End(Part part, decimal worst, decimal actualUsd)
    {
        if (part.Line is not { } line)
        {
            return;
        }

        if (part.CreditId != 0)
        {
            line.Settle(part.CreditId, worst, actualUsd);
        }
        else
        {
            SendSettle(line.Grain, part.Lease, actualUsd, logger);
        }
    }

    /// <summary>
    /// The most the request can cost: its prompt estimate at input price plus the rest of its estimate (max_tokens
    /// times n, or the default) at output price, for the dearest of the route's targets, since failover may end on any
    /// of them. A target without a price costs 0.
    /// </summary>
    /// <remarks>
    /// An OpenAI chat request without max_tokens sent to a provider of Anthropic's protocol carries the max_tokens the
    /// translation writes (the model's own maximum, 32k-128k), so that target's output is reserved at that, not at
    /// the default. An OpenAI-compatible provider given no max_tokens may also write more than the default: a client
    /// that sets max_tokens bounds its budget exactly.
    /// </remarks>
    public decimal WorstCase(ProxyRequest request, ResolvedRoute route)
    {
        var prompt = request.PromptEstimate;
        var output = Math.Max(0, request.EstimatedTokens - prompt);
        var uncapped = request.Info is { MaxTokens: null };
        decimal worst = 0;
        foreach (var target in route.Targets)
        {
            if (prices.Find(target.Provider, target.Model) is { } price)
            {
                var sent = uncapped && providers.Get(target.Provider) is { Protocol: WireProtocol.AnthropicMessages } anthropic
                    ? AnthropicModelDefaults.MaxTokensToSend(target.Model, anthropic.Settings.DefaultMaxTokens)
                    : output;
                worst = Math.Max(worst, price.Cost(prompt, sent));
            }
        }

        return worst;
    }

    private BudgetLimits? TokenBudget(ProxyRequest request, TenantSnapshot tenant) =>
        Tokens(tenant).GetValueOrDefault(request.Identity.TokenId);

    private FrozenDictionary<string, BudgetLimits?> Tokens(TenantSnapshot tenant) =>
        _tokens.TryGetValue(tenant, out var built) ? built : _tokens.GetValue(tenant, Build);

    private static FrozenDictionary<string, BudgetLimits?> Build(TenantSnapshot tenant)
    {
        var tokens = new Dictionary<string, BudgetLimits?>(tenant.Tokens.Count, StringComparer.Ordinal);
        foreach (var token in tenant.Tokens)
        {
            tokens[token.Id] = token.Budget is { IsEmpty: false } limits ? limits : null;
        }

        return tokens.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private ProxyError Refused(BudgetReservation refusal, string whose, decimal worst)
    {
        var window = refusal.Window == BudgetWindow.Daily ? "daily" : "monthly";
        var retryAfter = refusal.ResetsAt - time.GetUtcNow();
        if (retryAfter < TimeSpan.FromSeconds(1))
        {
            retryAfter = TimeSpan.FromSeconds(1);
        }

        var resets = refusal.ResetsAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        var message = worst > refusal.LimitUsd
            ? $"Budget exceeded: this request may cost up to {Usd(worst)}, more than the whole {window} budget of {whose} ({Usd(refusal.LimitUsd)}). Lower max_tokens (or shorten the prompt) so that it fits."
            : $"Budget exceeded: the {window} budget of {whose} is {Usd(refusal.LimitUsd)}, and {Usd(refusal.SpentUsd)} of it is spent or held by requests in flight; this request may cost up to {Usd(worst)}. It resets at {resets}; a lower max_tokens may still fit.";
        return ProxyError.BudgetExceeded(message, retryAfter);
    }

    // Whole cents for amounts a person reads as money, more digits for the small amounts single requests cost.
    private static string Usd(decimal amount) => "$" + amount.ToString("0.00####", CultureInfo.InvariantCulture);

    // One-way: the task completes once the message is on its way; a failure to send is logged, never thrown at the
    // request (its hold then expires in the grain after BudgetLedger.LeaseLifetime).
    internal static void SendSettle(IBudgetGrain grain, long lease, decimal actualUsd, ILogger logger)
    {
        var sent = grain.SettleAsync(lease, actualUsd);
        if (!sent.IsCompletedSuccessfully)
        {
            _ = ObserveAsync(sent, logger);
        }
    }

    private static async Task ObserveAsync(Task sent, ILogger logger)
    {
        try
        {
            await sent;
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "A budget settlement could not be sent; its hold expires on its own and its spend is not counted");
        }
    }
}
