namespace Roxy.Api.Secrets;

/// <summary>
/// A secret as read from the environment. Secret files mounted by Docker and Kubernetes end in a newline, so
/// surrounding white space is not part of the secret; a line break, tab or non-ASCII character inside it would
/// corrupt the upstream <c>Authorization</c> header (or, in a token, never match), so such a value is refused.
/// </summary>
public static class SecretText
{
    public static string Clean(string value) => value.Trim();

    /// <summary>Whether the cleaned value holds anything but printable ASCII (space included, since some providers' keys are opaque).</summary>
    public static bool IsUnusable(string value) => value.AsSpan().Trim().ContainsAnyExceptInRange(' ', '~');
}
