using System.Security.Cryptography;
using System.Text.Json;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;

namespace Roxy.Api.Caching;

/// <summary>
/// The prompt cache key: a SHA-256 over a version tag, the client's protocol, the tenant, its cache generation, the
/// requested model, the route's fingerprint and the canonical request (<see cref="CanonicalRequest"/>), each
/// length-prefixed. The protocol is in the key: an OpenAI chat body and an Anthropic Messages body that mean the same
/// are different JSON anyway, and keeping them apart means no key depends on a translation being exact.
/// </summary>
public static class CacheKeys
{
    /// <summary>Bumped whenever the canonical form changes, so old rows become unreachable rather than wrong.</summary>
    public const string Version = "roxy-cache-v1";

    /// <param name="body">The client's request as a JSON object, after Roxy stripped earlier <c>#roxy</c> turns.</param>
    /// <param name="protocolHeaders">
    /// Headers of the client's protocol that change the answer and travel upstream with the body (Anthropic's
    /// <c>anthropic-version</c> and <c>anthropic-beta</c>: a beta can turn on what a field means).
    /// </param>
    public static CacheKey Compute(
        ReadOnlyMemory<byte> body, WireProtocol protocol, string tenantId, long generation, string requestedModel, string ruleFingerprint,
        string? protocolHeaders = null)
    {
        // The document reads the request's own pooled buffer: no copy of a body that can be hundreds of KB.
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = ChatRequestReader.MaxDepth });
        }
        catch (JsonException)
        {
            // Callers pass a validated body; should one slip through, it is simply not cached.
            return new CacheKey(Convert.ToHexStringLower(SHA256.HashData(body.Span)), false, "body is not JSON");
        }

        using (document)
        {
            return Hash(document.RootElement, protocol, tenantId, generation, requestedModel, ruleFingerprint, protocolHeaders ?? "");
        }
    }

    private static CacheKey Hash(
        JsonElement request, WireProtocol protocol, string tenantId, long generation, string requestedModel, string ruleFingerprint,
        string protocolHeaders)
    {
        var canonical = CanonicalRequest.Begin();
        try
        {
            canonical.WriteField(Version);
            canonical.WriteField(protocol switch
            {
                WireProtocol.OpenAiChat => "openai-chat",
                WireProtocol.AnthropicMessages => "anthropic-messages",
                _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, null),
            });
            canonical.WriteField(tenantId);
            canonical.WriteField(generation);
            canonical.WriteField(requestedModel);
            canonical.WriteField(ruleFingerprint);
            canonical.WriteField(protocolHeaders);
            var (deterministic, uncacheable) = canonical.WriteRequest(request, protocol);
            return new CacheKey(canonical.Finish(), deterministic, uncacheable);
        }
        catch
        {
            canonical.Discard();
            throw;
        }
    }
}
