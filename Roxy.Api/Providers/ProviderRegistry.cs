using System.Net;
using Roxy.Api.Configuration;
using Roxy.Api.Providers.Anthropic;
using Roxy.Api.Providers.OpenAi;

namespace Roxy.Api.Providers;

/// <summary>
/// The configured providers, each with its own pooled <see cref="SocketsHttpHandler"/>: no proxy, no redirects,
/// no decompression, no cookies, so bytes pass through untouched and one provider's pool never starves another.
/// </summary>
public sealed class ProviderRegistry : IDisposable
{
    private readonly Dictionary<string, IProviderClient> _clients = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ResolvedProvider> _settings = new(StringComparer.Ordinal);
    private readonly List<HttpMessageInvoker> _invokers = [];

    public ProviderRegistry(ResolvedConfig config)
    {
        foreach (var provider in config.Providers)
        {
            _settings[provider.Name] = provider;
            var handler = new SocketsHttpHandler
            {
                UseProxy = false,
                AllowAutoRedirect = false,
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
                ConnectTimeout = provider.ConnectTimeout,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
                MaxConnectionsPerServer = int.MaxValue,
                EnableMultipleHttp2Connections = true,
                // No trace headers of Roxy's own travel upstream, and no diagnostics handler on the hot path.
                ActivityHeadersPropagator = null,
            };
            var invoker = new HttpMessageInvoker(handler, disposeHandler: true);
            _invokers.Add(invoker);
            if (Create(provider, invoker) is { } client)
            {
                _clients[provider.Name] = client;
            }
        }
    }

    /// <summary>One line per protocol: a new one is a class and a line here.</summary>
    private static IProviderClient? Create(ResolvedProvider provider, HttpMessageInvoker http) => provider.Kind switch
    {
        ProviderKind.OpenAi => new OpenAiCompatibleProvider(provider, http),
        ProviderKind.Anthropic => new AnthropicProvider(provider, http),
        _ => null,
    };

    public IEnumerable<ResolvedProvider> All => _settings.Values;

    public bool IsKnown(string provider) => _settings.ContainsKey(provider);

    /// <summary>The client for a provider; null when its protocol is not proxied by this build.</summary>
    public IProviderClient? Get(string provider) => _clients.GetValueOrDefault(provider);

    public void Dispose()
    {
        foreach (var invoker in _invokers)
        {
            invoker.Dispose();
        }
    }
}
