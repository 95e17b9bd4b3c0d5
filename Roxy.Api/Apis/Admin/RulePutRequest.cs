using System.Text.Json.Serialization;

namespace Roxy.Api.Apis.Admin;

/// <summary>A whole runtime rule: replaces the source's rule if there is one.</summary>
/// <param name="Targets">At least one <c>[provider:]model</c>, in the order fallback tries them.</param>
/// <param name="Policy"><c>fallback</c> (default), <c>roundrobin</c> or <c>random</c>.</param>
/// <param name="FailoverOnContextLength">Fail over to the next target when the provider says the prompt is too long (default false).</param>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record RulePutRequest(IReadOnlyList<string>? Targets, string? Policy = null, bool? FailoverOnContextLength = null)
{
    public static RulePutRequest Example { get; } = new(["openai:gpt-4o-mini", "openrouter:openai/gpt-4o-mini"], "fallback", false);
}
