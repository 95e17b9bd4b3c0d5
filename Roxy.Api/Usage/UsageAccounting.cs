using Roxy.Api.Budgets;
using Roxy.Api.Pricing;
using Roxy.Api.Proxy;

namespace Roxy.Api.Usage;

/// <summary>
/// What happens when a proxied request ends, however it ends (answered, failed, cut off by the client): its cost is
/// priced from the tokens the relay counted, its budget hold is settled to that cost, and its usage is recorded. A cache
/// hit costs nothing and counts what it saved.
/// </summary>
public sealed class UsageAccounting(ModelPrices prices, BudgetGate budgets, UsageRecorder usage)
{
    public void Complete(ProxyRequest request)
    {
        decimal cost = 0, saved = 0;
        if (request.Answered is { } answered && prices.Find(answered.Provider, answered.Model) is { } price)
        {
            var amount = price.Cost(request.PromptTokens, request.CompletionTokens, request.CachedTokens);
            if (request.CacheResult == "hit")
            {
                saved = amount;
            }
            else
            {
                cost = amount;
            }
        }

        request.Cost = cost;
        request.Saved = saved;
        budgets.Settle(request, cost);
        if (request.Answered is not null)
        {
            usage.Record(request, cost, saved);
        }
    }
}
