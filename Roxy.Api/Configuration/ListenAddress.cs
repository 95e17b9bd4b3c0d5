using System.Globalization;

namespace Roxy.Api.Configuration;

/// <summary><c>listen_addr</c>: <c>host:port</c>, <c>[v6]:port</c> or <c>:port</c> (all interfaces), port 1-65535.</summary>
public static class ListenAddress
{
    public const string Allowed = "expected host:port or :port with a port 1-65535, e.g. \":8080\" or \"127.0.0.1:8080\"";

    /// <summary>Parses <paramref name="value"/>; <paramref name="host"/> is null for <c>:port</c>.</summary>
    public static bool TryParse(string value, out string? host, out int port)
    {
        host = null;
        port = 0;
        var colon = value.LastIndexOf(':');
        if (colon < 0
            || !int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port)
            || port is < 1 or > 65535)
        {
            port = 0;
            return false;
        }

        var hostPart = value[..colon];
        if (hostPart.Length == 0)
        {
            return true;
        }

        if (hostPart.StartsWith('[') && hostPart.EndsWith(']') && hostPart.Length > 2)
        {
            host = hostPart[1..^1];
            return true;
        }

        if (hostPart.Contains(':') || hostPart.Any(char.IsWhiteSpace))
        {
            port = 0;
            return false;
        }

        host = hostPart;
        return true;
    }
}
