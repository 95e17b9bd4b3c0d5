using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Roxy.FakeUpstream;

/// <summary>An error answer in OpenAI's shape.</summary>
internal sealed record FakeError(int Status, string Type, string? Code, string Message, string? Param = null);

/// <summary>
/// One <c>POST /v1/embeddings</c> call, checked as strictly as OpenAI checks it: only the documented fields
/// (an unknown one is "Unrecognized request argument supplied"), <c>input</c> in one of its four shapes and never
/// empty, at most 2048 inputs of at most 8192 tokens each and 300,000 in all, <c>encoding_format</c> float or
/// base64, <c>dimensions</c> only for the text-embedding-3 models and within their size, and a known model (404
/// otherwise). Tokens are counted as OpenAI's rule of thumb has it, a token per four UTF-8 bytes of each string
/// (at least one), and a token-id array by its length, so the usage is plausible and differs from a tokenizer's.
/// </summary>
internal sealed class FakeEmbeddings
{
    public const int MaxInputs = 2048;
    public const int MaxInputTokens = 8192;
    public const int MaxRequestTokens = 300_000;

    /// <summary>OpenAI's embedding models and their native sizes.</summary>
    public static readonly IReadOnlyDictionary<string, int> Models = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["text-embedding-3-small"] = 1536,
        ["text-embedding-3-large"] = 3072,
        ["text-embedding-ada-002"] = 1536,
    };

    private const string InvalidInput = "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.";

    private FakeEmbeddings(string model, bool base64, int? dimensions, List<int> inputTokens)
    {
        Model = model;
        Base64 = base64;
        Dimensions = dimensions;
        InputTokens = inputTokens;
    }

    public string Model { get; }
    public bool Base64 { get; }
    public int? Dimensions { get; }

    /// <summary>The tokens of each input, in order.</summary>
    public List<int> InputTokens { get; }

    public int TotalTokens => InputTokens.Sum();

    public static FakeError? TryParse(ReadOnlySequence<byte> body, out FakeEmbeddings? request)
    {
        request = null;
        string? model = null;
        var base64 = false;
        int? dimensions = null;
        List<int>? inputs = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return Invalid("Invalid type for 'body': expected an object.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                switch (name)
                {
                    case "model":
                        if (reader.TokenType != JsonTokenType.String)
                        {
                            return Invalid("Invalid type for 'model': expected a string.", "model");
                        }

                        model = reader.GetString();
                        break;
                    case "input":
                        inputs = ReadInput(ref reader);
                        if (inputs is null)
                        {
                            return Invalid(InvalidInput);
                        }

                        break;
                    case "encoding_format":
                        if (reader.TokenType == JsonTokenType.Null)
                        {
                            break;
                        }

                        var format = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                        if (format is not ("float" or "base64"))
                        {
                            return Invalid($"Invalid value for 'encoding_format': '{format}'. Supported values are: 'float' and 'base64'.", "encoding_format");
                        }

                        base64 = format == "base64";
                        break;
                    case "dimensions":
                        if (reader.TokenType == JsonTokenType.Null)
                        {
                            break;
                        }

                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var d) || d < 1)
                        {
                            return Invalid("Invalid value for 'dimensions': expected an integer of at least 1.", "dimensions");
                        }

                        dimensions = d;
                        break;
                    case "user":
                        if (reader.TokenType != JsonTokenType.String)
                        {
                            return Invalid("Invalid type for 'user': expected a string.", "user");
                        }

                        break;
                    default:
                        return Invalid($"Unrecognized request argument supplied: {name}");
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return Invalid("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)");
        }

        if (model is null)
        {
            return Invalid("you must provide a model parameter");
        }

        if (inputs is null)
        {
            return Invalid("'input' is a required property");
        }

        if (!Models.TryGetValue(model, out var native))
        {
            return new FakeError(404, "invalid_request_error", "model_not_found", $"The model `{model}` does not exist or you do not have access to it.");
        }

        if (dimensions is { } size && (model == "text-embedding-ada-002" || size > native))
        {
            return Invalid(model == "text-embedding-ada-002" ? "This model does not support specifying dimensions." : $"This model supports at most {native} dimensions.", "dimensions");
        }

        if (inputs.Count > MaxInputs)
        {
            return Invalid(InvalidInput);
        }

        foreach (var tokens in inputs)
        {
            if (tokens > MaxInputTokens)
            {
                return Invalid($"This model's maximum context length is {MaxInputTokens} tokens, however you requested {tokens} tokens ({tokens} in your prompt; 0 for the completion). Please reduce your prompt; or completion length.");
            }
        }

        if (inputs.Sum() > MaxRequestTokens)
        {
            return Invalid($"Requested {inputs.Sum()} tokens, max {MaxRequestTokens} tokens per request", "input");
        }

        request = new FakeEmbeddings(model, base64, dimensions, inputs);
        return null;
    }

    /// <summary><c>{"object":"list","data":[...],"model":…,"usage":{"prompt_tokens":N,"total_tokens":N}}</c>.</summary>
    public void WriteAnswer(IBufferWriter<byte> w, int defaultDimensions)
    {
        var dims = Dimensions ?? Math.Max(1, defaultDimensions);
        W.Raw(w, "{\"object\":\"list\",\"data\":["u8);
        for (var i = 0; i < InputTokens.Count; i++)
        {
            W.Raw(w, i == 0 ? "{\"object\":\"embedding\",\"index\":"u8 : ",{\"object\":\"embedding\",\"index\":"u8);
            W.Num(w, i);
            W.Raw(w, ",\"embedding\":"u8);
            WriteVector(w, Vector(i, dims));
            W.Raw(w, "}"u8);
        }

        W.Raw(w, "],\"model\":"u8);
        W.Str(w, Model);
        W.Raw(w, ",\"usage\":{\"prompt_tokens\":"u8);
        W.Num(w, TotalTokens);
        W.Raw(w, ",\"total_tokens\":"u8);
        W.Num(w, TotalTokens);
        W.Raw(w, "}}"u8);
    }

    /// <summary>A unit-length vector that differs per input index, so a client can tell the inputs apart.</summary>
    public static float[] Vector(int index, int dims)
    {
        var vector = new float[dims];
        for (var i = 0; i < dims; i++)
        {
            vector[i] = MathF.Round(MathF.Sin((i + 1) * (index + 1)) / MathF.Sqrt(dims), 6);
        }

        return vector;
    }

    private void WriteVector(IBufferWriter<byte> w, float[] vector)
    {
        if (Base64)
        {
            // As OpenAI sends it: the little-endian float32 bytes, base64-encoded, in a JSON string.
            W.Raw(w, "\""u8);
            W.Raw(w, Encoding.ASCII.GetBytes(Convert.ToBase64String(MemoryMarshal.AsBytes(vector.AsSpan()))));
            W.Raw(w, "\""u8);
            return;
        }

        W.Raw(w, "["u8);
        for (var i = 0; i < vector.Length; i++)
        {
            if (i > 0)
            {
                W.Raw(w, ","u8);
            }

            W.Raw(w, Encoding.ASCII.GetBytes(vector[i].ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        }

        W.Raw(w, "]"u8);
    }

    // Token counts per input, or null when the shape is not one of OpenAI's four (or is empty anywhere).
    private static List<int>? ReadInput(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            var text = reader.GetString()!;
            return text.Length == 0 ? null : [Tokens(text)];
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return null;
        }

        var counts = new List<int>();
        reader.Read();
        var shape = reader.TokenType;
        if (shape == JsonTokenType.EndArray)
        {
            return null;
        }

        if (shape == JsonTokenType.Number)
        {
            var ids = ReadTokenIds(ref reader);
            return ids is null ? null : [ids.Value];
        }

        do
        {
            if (reader.TokenType != shape)
            {
                return null;
            }

            if (shape == JsonTokenType.String)
            {
                var text = reader.GetString()!;
                if (text.Length == 0)
                {
                    return null;
                }

                counts.Add(Tokens(text));
            }
            else if (shape == JsonTokenType.StartArray)
            {
                reader.Read();
                var ids = reader.TokenType == JsonTokenType.EndArray ? null : ReadTokenIds(ref reader);
                if (ids is null)
                {
                    return null;
                }

                counts.Add(ids.Value);
            }
            else
            {
                return null;
            }
        }
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray);

        return counts;
    }

    // On the first id; ends on the array's end. Null when an element is not a non-negative integer.
    private static int? ReadTokenIds(ref Utf8JsonReader reader)
    {
        var count = 0;
        do
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var id) || id < 0)
            {
                return null;
            }

            count++;
        }
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray);

        return count;
    }

    private static int Tokens(string text) => Math.Max(1, (Encoding.UTF8.GetByteCount(text) + 3) / 4);

    private static FakeError Invalid(string message, string? param = null) => new(400, "invalid_request_error", null, message, param);
}
