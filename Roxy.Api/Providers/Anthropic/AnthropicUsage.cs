using System.Text.Json;
using Roxy.Api.Protocols;

namespace Roxy.Api.Providers.Anthropic;

/// <summary>
/// Anthropic's <c>usage</c> object, kept field by field: <c>message_start</c> gives the input counts and
/// <c>message_delta</c> the output count, which is cumulative (the latest replaces, never adds). What OpenAI calls
/// prompt tokens is Anthropic's input plus cache creation plus cache read; cached tokens are the cache read.
/// </summary>
internal struct AnthropicUsage
{
    public long Input;
    public long CacheCreation;
    public long CacheRead;
    public long Output;

    /// <summary>The counts that were read.</summary>
    public Counts Fields;

    [Flags]
    public enum Counts
    {
        None = 0,
        Input = 1,
        Output = 2,
        CacheCreation = 4,
        CacheRead = 8,
    }

    public readonly bool Seen => Fields != Counts.None;

    public readonly TokenUsage ToTokenUsage() => new(Input + CacheCreation + CacheRead, Output, CacheRead);

    /// <summary>
    /// Reads a <c>usage</c> object at the reader (on its <c>StartObject</c>). A count that is not a non-negative
    /// integer (null, negative, fractional, huge) is untrusted input and ignored.
    /// </summary>
    public void Read(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = reader.ValueTextEquals("input_tokens"u8) ? Counts.Input
                : reader.ValueTextEquals("output_tokens"u8) ? Counts.Output
                : reader.ValueTextEquals("cache_creation_input_tokens"u8) ? Counts.CacheCreation
                : reader.ValueTextEquals("cache_read_input_tokens"u8) ? Counts.CacheRead
                : Counts.None;
            reader.Read();
            if (field == Counts.None || reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var count) || count < 0)
            {
                reader.Skip();
                continue;
            }

            Fields |= field;
            switch (field)
            {
                case Counts.Input: Input = count; break;
                case Counts.Output: Output = count; break;
                case Counts.CacheCreation: CacheCreation = count; break;
                default: CacheRead = count; break;
            }
        }
    }

    /// <summary>The same, from a parsed whole answer.</summary>
    public static AnthropicUsage From(JsonElement usage)
    {
        var result = default(AnthropicUsage);
        foreach (var property in usage.EnumerateObject())
        {
            var field = property.NameEquals("input_tokens"u8) ? Counts.Input
                : property.NameEquals("output_tokens"u8) ? Counts.Output
                : property.NameEquals("cache_creation_input_tokens"u8) ? Counts.CacheCreation
                : property.NameEquals("cache_read_input_tokens"u8) ? Counts.CacheRead
                : Counts.None;
            if (field == Counts.None || property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt32(out var count) || count < 0)
            {
                continue;
            }

            result.Merge(new AnthropicUsage { Input = count, Output = count, CacheCreation = count, CacheRead = count, Fields = field });
        }

        return result;
    }

    /// <summary>A later report replaces the counts it names and keeps the others.</summary>
    public void Merge(in AnthropicUsage later)
    {
        if ((later.Fields & Counts.Input) != 0)
        {
            Input = later.Input;
        }

        if ((later.Fields & Counts.Output) != 0)
        {
            Output = later.Output;
        }

        if ((later.Fields & Counts.CacheCreation) != 0)
        {
            CacheCreation = later.CacheCreation;
        }

        if ((later.Fields & Counts.CacheRead) != 0)
        {
            CacheRead = later.CacheRead;
        }

        Fields |= later.Fields;
    }
}
