using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Roxy.Grains.Hosting.Dashboard;

/// <summary>
/// The Orleans dashboard of one silo: off unless asked for, on a port of its own under <see cref="Path"/>, bound to
/// loopback by default. It shows grain types, silos and grain state, so the operator token guards it whenever one
/// is set, and binding anywhere but loopback without one is refused.
/// </summary>
public sealed record RoxyDashboardOptions
{
    public const int DefaultPort = 8090;
    public const string DefaultHost = "127.0.0.1";

    /// <summary>Where the dashboard lives on its port; everything else on that port is 404.</summary>
    public const string Path = "/dashboard";

    public const string EnabledVariable = "ROXY_DASHBOARD";
    public const string PortVariable = "ROXY_DASHBOARD_PORT";
    public const string HostVariable = "ROXY_DASHBOARD_HOST";
    public const string TokenVariable = "ROXY_ADMIN_TOKEN";

    public bool Enabled { get; init; }
    public string Host { get; init; } = DefaultHost;
    public int Port { get; init; } = DefaultPort;

    /// <summary>
    /// SHA-256 of the operator token (<c>ROXY_ADMIN_TOKEN</c>); when set, every dashboard request must carry the token.
    /// Only the hash is held, so printing these options never shows the secret.
    /// </summary>
    public byte[]? OperatorTokenSha256 { get; init; }

    public bool IsLoopback => Host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(Host, out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>The Kestrel URL the dashboard listens on.</summary>
    public string ListenUrl
    {
        get
        {
            var host = Host is "0.0.0.0" or "*" ? "0.0.0.0" : Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host;
            return $"http://{host}:{Port.ToString(CultureInfo.InvariantCulture)}";
        }
    }

    /// <summary>Why these options must not start, or null: an open dashboard is allowed only on loopback.</summary>
    public string? Problem(string hostSetting) => Enabled && !IsLoopback && OperatorTokenSha256 is null
        ? $"{hostSetting}: the dashboard shows grain state; binding it to '{Host}' needs {TokenVariable} set (the dashboard then asks for it), or use 127.0.0.1"
        : null;

    /// <summary>Reads <c>ROXY_DASHBOARD</c> (true/false/1/0), <c>ROXY_DASHBOARD_PORT</c>, <c>ROXY_DASHBOARD_HOST</c> and the operator token.</summary>
    public static RoxyDashboardOptions FromEnvironment(Func<string, string?> env, List<string> errors)
    {
        var enabled = false;
        var enabledText = env(EnabledVariable)?.Trim();
        if (!string.IsNullOrEmpty(enabledText))
        {
            if (enabledText is "1" || enabledText.Equals("true", StringComparison.OrdinalIgnoreCase))
            {
                enabled = true;
            }
            else if (enabledText is not "0" && !enabledText.Equals("false", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{EnabledVariable}: '{enabledText}' is not a switch; use true or false");
            }
        }

        var port = DefaultPort;
        var portText = env(PortVariable)?.Trim();
        if (!string.IsNullOrEmpty(portText) && !(int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535))
        {
            errors.Add($"{PortVariable}: '{portText}' is not a port; use 1-65535");
        }

        var host = env(HostVariable)?.Trim();
        if (!string.IsNullOrEmpty(host) && !IsHost(host))
        {
            errors.Add($"{HostVariable}: '{host}' is not an IP address; use 127.0.0.1 (default), another IP address or 0.0.0.0");
        }

        var options = new RoxyDashboardOptions
        {
            Enabled = enabled,
            Port = port,
            Host = string.IsNullOrEmpty(host) ? DefaultHost : host,
            OperatorTokenSha256 = HashOf(env(TokenVariable)),
        };
        if (options.Problem(HostVariable) is { } problem)
        {
            errors.Add(problem);
        }

        return options;
    }

    /// <summary>An address Kestrel can bind: an IP address, <c>localhost</c> or <c>*</c>.</summary>
    public static bool IsHost(string text) => text is "*" || text.Equals("localhost", StringComparison.OrdinalIgnoreCase) || IPAddress.TryParse(text, out _);

    /// <summary>The hash <see cref="OperatorTokenSha256"/> holds, or null for an unset or blank token.</summary>
    public static byte[]? HashOf(string? token) =>
        string.IsNullOrWhiteSpace(token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token.Trim()));
}
