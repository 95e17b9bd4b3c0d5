using System.Text.Json;
using Roxy.Api.Errors;

namespace Roxy.Api.Providers.OpenAi;

/// <summary>Reads an OpenAI-shaped error body (<c>{"error":{"message","type","param","code"}}</c>) into a <see cref="ProxyError"/>.</summary>
internal static class OpenAiErrorBody
{
    public static ProxyError Describe(int status, ReadOnlySpan<byte> body)
    {
        string? message = null, type = null, param = null, code = null;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 16 });
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (!reader.ValueTextEquals("error"u8))
                    {
                        reader.Read();
                        reader.Skip();
                        continue;
                    }

                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }

                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var name = reader.GetString();
                        reader.Read();
                        var value = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                        reader.Skip();
                        switch (name)
                        {
                            case "message": message = value; break;
                            case "type": type = value; break;
                            case "param": param = value; break;
                            case "code": code = value; break;
                        }
                    }
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Not JSON, or a string that is no Unicode: what was read so far stands, the status says the rest.
        }

        return new ProxyError(status, type ?? "invalid_request_error", code ?? "upstream_rejected_request",
            message ?? $"The provider rejected the request with status {status}.", param);
    }
}
