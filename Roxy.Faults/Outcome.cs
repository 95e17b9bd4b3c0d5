namespace Roxy.Faults;

/// <summary>
/// One answer as the client saw it. <see cref="Status"/> is the HTTP status, 0 when none came (refused, reset, timed
/// out). <see cref="Code"/>: <c>ok</c>, the error's code (<c>rate_limit_exceeded</c>, <c>budget_exceeded</c>, …),
/// <c>truncated</c> (a stream without [DONE] or a cut body), <c>garbage</c> (a 200 that is not a completion),
/// <c>refused</c>, <c>reset</c>, <c>timeout</c>.
/// </summary>
public sealed record Outcome(
    string Lane, string Tenant, int Frontend, bool Stream, double SentAt, double DoneAt, int Status, string Code, bool Failed,
    decimal CostUsd)
{
    /// <summary>The column of the answers-by-status table: the status, or what happened instead of one.</summary>
    public string Label => Status == 0 ? Code : Code is "truncated" or "garbage" ? $"{Status}-{Code}" : Status.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
