using Roxy.Api.Errors;

namespace Roxy.Api.Inbound.Anthropic;

/// <summary>
/// The 400s of a Messages body, worded as Anthropic words its own (<c>max_tokens: Field required</c>): the field's
/// dotted path, a colon, what is wrong. The path is also the error's param.
/// </summary>
internal static class MessagesErrors
{
    public static ProxyError Invalid(string path, string what) => ProxyError.InvalidRequest($"{path}: {what}", path);

    public static ProxyError Required(string path) => Invalid(path, "Field required");

    /// <summary>What an OpenAI-compatible target has no equivalent for; an Anthropic target would take it.</summary>
    public static ProxyError NotTranslatable(string path, string what) =>
        Invalid(path, $"{what} cannot be sent to an OpenAI-compatible target; route this model to an Anthropic provider or leave it out.");
}
