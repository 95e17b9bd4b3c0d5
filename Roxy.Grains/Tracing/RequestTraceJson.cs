using System.Text.Json.Serialization;

namespace Roxy.Grains.Tracing;

/// <summary>
/// The JSON of a <c>roxy_request_traces</c> row, source-generated (no reflection on the write and read paths), snake_case
/// with enum names as strings, so the rows read like the rest of Roxy's JSON when operating the database.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UseStringEnumConverter = true)]
[JsonSerializable(typeof(RequestTrace))]
internal sealed partial class RequestTraceJson : JsonSerializerContext;
