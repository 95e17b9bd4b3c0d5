namespace Roxy.Api.Secrets;

public static class KeyMask
{
    /// <summary><c>sk-…3f9a</c>: enough to recognise a key, never enough to use it.</summary>
    public static string Of(string secret)
    {
        if (secret.Length < 12)
        {
            return "…";
        }

        var dash = secret.IndexOf('-', StringComparison.Ordinal);
        var prefix = dash is > 0 and <= 4 ? secret[..(dash + 1)] : "";
        return string.Concat(prefix, "…", secret.AsSpan(secret.Length - 4));
    }
}
