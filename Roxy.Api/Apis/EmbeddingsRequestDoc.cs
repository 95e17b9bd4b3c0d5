using System.Text.Json;

namespace Roxy.Api.Apis;

/// <summary>
/// The embeddings request as documented in OpenAPI. Roxy never binds to this type: the body is forwarded as sent
/// with only <c>model</c> replaced.
/// </summary>
/// <param name="Input">A string, an array of strings, an array of token ids, or an array of arrays of token ids; never empty.</param>
/// <param name="EncodingFormat"><c>float</c> or <c>base64</c>, checked by the provider.</param>
/// <param name="Dimensions">Output dimensions, for models that support choosing them.</param>
public sealed record EmbeddingsRequestDoc(string Model, JsonElement Input, string? EncodingFormat = null, int? Dimensions = null, string? User = null);
