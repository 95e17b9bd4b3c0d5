namespace Roxy.Api.Providers.Anthropic;

/// <summary>
/// Anthropic requires <c>max_tokens</c>; OpenAI clients usually omit it. Each model family gets its real maximum
/// output (synchronous Messages API, no beta header), so a translated request is never cut short by a guess; the
/// README's "Anthropic translation" section carries the same table.
/// </summary>
public static class AnthropicModelDefaults
{
    /// <summary>
    /// For a model the table does not know: the largest value every Claude model since 3.7 accepts. Every older
    /// model is in the table, so an unknown one is newer and allows at least this much.
    /// </summary>
    public const int UnknownModelMaxTokens = 32_000;

    // Ids are the family, then '-' and a date or "latest" (claude-3-5-sonnet-20241022, claude-opus-4-1-20250805)
    // or nothing (claude-opus-4-5, the dateless ids from 4.6 on). The longest matching entry wins.
    private static readonly Family[] Families =
    [
        new("claude-3-haiku", 4_096),
        new("claude-3-sonnet", 4_096),
        new("claude-3-opus", 4_096),
        new("claude-3-5-haiku", 8_192),
        new("claude-3-5-sonnet", 8_192),
        new("claude-3-7-sonnet", 64_000),
        new("claude-sonnet-4", 64_000),
        new("claude-sonnet-4-0", 64_000),
        new("claude-opus-4", 32_000),
        new("claude-opus-4-0", 32_000),
        new("claude-opus-4-1", 32_000),
        new("claude-haiku-4-5", 64_000),
        new("claude-sonnet-4-5", 64_000),
        new("claude-opus-4-5", 64_000),
        new("claude-sonnet-4-6", 128_000),
        new("claude-opus-4-6", 128_000),
        new("claude-opus-4-7", 128_000, RejectsSampling: true),
        new("claude-opus-4-8", 128_000, RejectsSampling: true),
        new("claude-sonnet-5", 128_000),
        new("claude-opus-5", 128_000),
        new("claude-fable-5", 128_000, RejectsSampling: true),
        new("claude-fable-5-1", 128_000, RejectsSampling: true),
    ];

    /// <summary>The model's maximum output tokens, or null when the table does not know the model.</summary>
    public static int? KnownMaxOutputTokens(string model) => Find(model)?.MaxOutputTokens;

    /// <summary>The <c>max_tokens</c> to send when the client gave none.</summary>
    public static int DefaultMaxTokens(string model) => KnownMaxOutputTokens(model) ?? UnknownModelMaxTokens;

    /// <summary>
    /// The <c>max_tokens</c> a translated request carries: the client's (or else the provider's configured default),
    /// never above the model's own maximum (Anthropic would refuse it, OpenAI would not); without either, the model's
    /// own maximum. Budgets reserve what this says, since it is what the provider may generate.
    /// </summary>
    public static int MaxTokensToSend(string model, int? asked) => asked is { } value
        ? Math.Min(value, KnownMaxOutputTokens(model) ?? value)
        : DefaultMaxTokens(model);

    /// <summary>
    /// Models that answer 400 ("`temperature` is deprecated for this model") to any sampling parameter
    /// (<c>temperature</c>, <c>top_p</c>, <c>top_k</c>); a translated request leaves them out.
    /// </summary>
    public static bool RejectsSamplingParameters(string model) => Find(model)?.RejectsSampling ?? false;

    private static Family? Find(string model)
    {
        Family? best = null;
        foreach (var family in Families)
        {
            if (Matches(model, family.Prefix) && (best is null || family.Prefix.Length > best.Prefix.Length))
            {
                best = family;
            }
        }

        return best;
    }

    // claude-opus-4 matches claude-opus-4-20250514 but not claude-opus-4-1 or claude-opus-4-9: a one- or two-digit
    // segment after the family is a minor version, another model.
    private static bool Matches(string model, string prefix)
    {
        if (!model.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var rest = model.AsSpan(prefix.Length);
        if (rest.IsEmpty)
        {
            return true;
        }

        if (rest[0] != '-')
        {
            return false;
        }

        var segment = rest[1..];
        var end = segment.IndexOf('-');
        segment = end < 0 ? segment : segment[..end];
        return !(segment.Length is 1 or 2 && !segment.ContainsAnyExceptInRange('0', '9'));
    }

    private sealed record Family(string Prefix, int MaxOutputTokens, bool RejectsSampling = false);
}
