using System.Globalization;
using Roxy.Grains.Tracing;

namespace Roxy.Api.Tracing;

/// <summary>
/// The words for a trace's steps and skipped keys, shared by <c>#roxy why</c> and <c>GET /admin/requests/{id}</c> so
/// the two say the same thing.
/// </summary>
public static class TraceExplainer
{
    /// <summary>Why the rotation grain passed over a key: "cooling until 12:03:04 UTC", "disabled: 401", "no headroom".</summary>
    public static string Why(KeySkip skip) => skip.Reason switch
    {
        KeySkipReason.Cooling => skip.Until is { } until
            ? string.Create(CultureInfo.InvariantCulture, $"cooling until {until.UtcDateTime:HH:mm:ss} UTC")
            : "cooling",
        KeySkipReason.Disabled => "disabled: " + (skip.Detail ?? "by an admin"),
        KeySkipReason.NoHeadroom => skip.Until is { } frees
            ? string.Create(CultureInfo.InvariantCulture, $"no headroom (a slot frees at {frees.UtcDateTime:HH:mm:ss} UTC)")
            : "no headroom",
        KeySkipReason.TooSmall => skip.MaxTpm is { } maxTpm
            ? string.Create(CultureInfo.InvariantCulture, $"max_tpm {maxTpm} too small for this request")
            : "max_tpm too small for this request",
        KeySkipReason.Excluded => "already tried by this request",
        _ => skip.Reason.ToString(),
    };

    /// <summary>What happened at a step, in a few words (the key and target are shown beside it).</summary>
    public static string What(TraceStep step) => step.Kind switch
    {
        TraceStepKind.Attempt => Attempt(step),
        TraceStepKind.Waited => step.Repeats > 0
            ? string.Create(CultureInfo.InvariantCulture, $"waited {step.DurationMs:0} ms in all, {step.Repeats + 1} times, for a key to free up")
            : string.Create(CultureInfo.InvariantCulture, $"waited {step.DurationMs:0} ms for a key to free up"),
        TraceStepKind.Omitted => string.Create(CultureInfo.InvariantCulture, $"… {step.Repeats} more steps, not kept"),
        _ => step.Repeats > 0 ? string.Create(CultureInfo.InvariantCulture, $"{Refusal(step)} ({step.Repeats + 1} times)") : Refusal(step),
    };

    /// <summary>A step that found no key or no way to take the request; the latest of them when it repeated.</summary>
    private static string Refusal(TraceStep step) => step.Kind switch
    {
        TraceStepKind.NoKeys => "no usable key for this provider",
        TraceStepKind.Exhausted => "every key busy: no headroom" + RetryIn(step.RetryAfter, "a slot frees in"),
        TraceStepKind.TooLarge => "the request needs more tokens than any key's max_tpm",
        TraceStepKind.ProviderBackoff => "provider backoff" + RetryIn(step.RetryAfter, "for"),
        TraceStepKind.Unsupported => "skipped: " + (step.Detail ?? "this target cannot take the request"),
        TraceStepKind.SecretMissing => "skipped: the key's secret is not set on the frontend that served the request",
        _ => step.Kind.ToString(),
    };

    /// <summary>A wait or the marker of left-out steps: no target of its own.</summary>
    public static bool HasTarget(TraceStep step) => step.Kind is not (TraceStepKind.Waited or TraceStepKind.Omitted);

    /// <summary>A step's kind as the admin API names it.</summary>
    public static string Kind(TraceStepKind kind) => kind switch
    {
        TraceStepKind.Attempt => "attempt",
        TraceStepKind.NoKeys => "no_keys",
        TraceStepKind.Exhausted => "exhausted",
        TraceStepKind.TooLarge => "too_large",
        TraceStepKind.ProviderBackoff => "provider_backoff",
        TraceStepKind.Unsupported => "unsupported",
        TraceStepKind.SecretMissing => "secret_missing",
        TraceStepKind.Waited => "waited",
        TraceStepKind.Omitted => "omitted",
        _ => kind.ToString().ToLowerInvariant(),
    };

    /// <summary>A skip reason as the admin API names it.</summary>
    public static string Reason(KeySkipReason reason) => reason switch
    {
        KeySkipReason.Disabled => "disabled",
        KeySkipReason.Cooling => "cooling",
        KeySkipReason.NoHeadroom => "no_headroom",
        KeySkipReason.TooSmall => "too_small",
        KeySkipReason.Excluded => "excluded",
        _ => reason.ToString().ToLowerInvariant(),
    };

    private static string Attempt(TraceStep step)
    {
        var status = step.UpstreamStatus is { } code ? code.ToString(CultureInfo.InvariantCulture) : "no answer,";
        var text = string.Create(CultureInfo.InvariantCulture, $"{status} {step.Outcome?.Replace('_', ' ')} in {step.DurationMs:0} ms");
        if (step.Outcome == "rate_limited" && step.RetryAfter is { } cooldown)
        {
            text += string.Create(CultureInfo.InvariantCulture, $"; {step.Detail} (cooldown {cooldown.TotalSeconds:0} s)");
        }
        else if (step.Detail is not null)
        {
            text += "; " + step.Detail;
        }

        return text;
    }

    private static string RetryIn(TimeSpan? after, string words) =>
        after is { } a && a > TimeSpan.Zero ? string.Create(CultureInfo.InvariantCulture, $" ({words} {a.TotalSeconds:0.#} s)") : "";
}
