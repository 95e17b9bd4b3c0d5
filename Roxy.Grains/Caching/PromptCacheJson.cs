using System.Text.Json.Serialization;

namespace Roxy.Grains.Caching;

/// <summary>
/// The JSON of a <c>roxy_prompt_cache</c> row's entry, source-generated: no reflection on the store and read paths,
/// and snake_case so the rows read like the rest of Roxy's JSON (<c>convert_from(entry, 'UTF8')</c>). Strings are
/// written as raw UTF-8 (<see cref="PromptCacheStringConverter"/>); rows written with escapes before still read.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, Converters = [typeof(PromptCacheStringConverter)])]
[JsonSerializable(typeof(CachedCompletion))]
internal sealed partial class PromptCacheJson : JsonSerializerContext;
