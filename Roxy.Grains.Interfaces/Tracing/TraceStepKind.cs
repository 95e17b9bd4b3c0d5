namespace Roxy.Grains.Tracing;

[GenerateSerializer]
public enum TraceStepKind
{
    /// <summary>An upstream call was made with <see cref="TraceStep.KeyId"/>.</summary>
    Attempt = 0,

    /// <summary>The tenant has no usable key for the target's provider.</summary>
    NoKeys = 1,

    /// <summary>Keys exist, none had headroom; <see cref="TraceStep.RetryAfter"/> says when one frees.</summary>
    Exhausted = 2,

    /// <summary>The request needs more tokens than any key's max_tpm.</summary>
    TooLarge = 3,

    /// <summary>The provider is backing off after an overload signal.</summary>
    ProviderBackoff = 4,

    /// <summary>The target cannot take this request (protocol cannot express it, provider unsupported).</summary>
    Unsupported = 5,

    /// <summary>The granted key has no secret in the serving process.</summary>
    SecretMissing = 6,

    /// <summary>The request waited for headroom (<see cref="TraceStep.DurationMs"/>) before trying again.</summary>
    Waited = 7,

    /// <summary>
    /// Stands for the steps a long trace left out (<see cref="TraceStep.Repeats"/> of them), between its first steps and
    /// its last one, so that one request's trace stays small.
    /// </summary>
    Omitted = 8,
}
