namespace Roxy.Api.Proxy;

/// <summary>
/// What Roxy needs from an embeddings request body, read in one forward pass. Offsets let the body be forwarded
/// with only <c>model</c> replaced, and let the token estimate walk <c>input</c> alone.
/// </summary>
public sealed class EmbeddingsRequestInfo
{
    public string Model { get; set; } = "";

    /// <summary>Byte range of the <c>model</c> value token (quotes included).</summary>
    public Range ModelValue { get; set; }

    /// <summary>Byte range of the whole <c>input</c> value: a string or an array.</summary>
    public Range InputValue { get; set; }
}
