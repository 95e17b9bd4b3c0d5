using Roxy.Api.Errors;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;
using Roxy.Grains.Tenancy;

namespace Roxy.Api.Budgets;

/// <summary>
/// SPEC §6's budgets on the request path: before a request goes upstream (or is served from the cache), its worst-case
/// cost is reserved in the tenant's budget grain and, for a budgeted token, in the token's; when it ends, the hold is
/// settled to what it really cost. A tenant and token without budgets pay nothing here: no grain call.
/// </summary>
public sealed class BudgetGate
{
    /// <summary>Whether <paramref name="tenant"/> or the caller's token has a budget (checked on the snapshot, no grain call).</summary>
    public bool Applies(ProxyRequest request, TenantSnapshot tenant) => request is null || tenant is null; // seam: helper C

    /// <summary>Reserves the worst case and sets <see cref="ProxyRequest.BudgetHold"/>, or says why not (429 <c>budget_exceeded</c>).</summary>
    public ValueTask<ProxyError?> ReserveAsync(ProxyRequest request, TenantSnapshot tenant, ResolvedRoute route) =>
        throw new NotImplementedException();

    /// <summary>Settles the request's hold, if it has one, to <paramref name="actualUsd"/> (one-way calls).</summary>
    public void Settle(ProxyRequest request, decimal actualUsd) => _ = (request, actualUsd); // seam: helper C
}
