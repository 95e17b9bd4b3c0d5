namespace Roxy.Api.Usage;

/// <summary>
/// A tenant's usage over a period (UTC days <see cref="From"/> to <see cref="To"/>, inclusive): totals, and the same
/// figures by model, by key and by token. Tokens are what providers processed; cache hits add a request and a saving.
/// </summary>
/// <param name="Period"><c>day</c> (today) or <c>month</c> (the first of the month to today).</param>
/// <param name="Unpriced">Models that answered in the period without a price (<c>provider:model</c>): counted as $0.</param>
public sealed record UsageReport(
    string Tenant,
    string Period,
    DateOnly From,
    DateOnly To,
    UsageLine Total,
    IReadOnlyList<UsageLine> ByModel,
    IReadOnlyList<UsageLine> ByKey,
    IReadOnlyList<UsageLine> ByToken,
    IReadOnlyList<string> Unpriced);

/// <summary>One line of a <see cref="UsageReport"/>.</summary>
/// <param name="Id">
/// What the line groups by: <c>provider:model</c>, a key id (empty for answers from the prompt cache), a token id;
/// <c>total</c> for the totals.
/// </param>
/// <param name="PromptTokens">Input tokens, <see cref="CachedTokens"/> included.</param>
/// <param name="CachedTokens">Input tokens the provider read from its own prompt cache (priced as cached input).</param>
/// <param name="CostUsd">What the requests cost at the configured prices.</param>
/// <param name="SavedUsd">What the prompt cache's hits would have cost upstream.</param>
public sealed record UsageLine(
    string Id,
    long Requests,
    long CacheHits,
    long PromptTokens,
    long CompletionTokens,
    long CachedTokens,
    decimal CostUsd,
    decimal SavedUsd);
