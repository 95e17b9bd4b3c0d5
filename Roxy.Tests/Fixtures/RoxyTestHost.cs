using System.ClientModel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAI;
using OpenAI.Chat;
using Roxy.Api.Hosting;

namespace Roxy.Tests.Fixtures;

/// <summary>
/// A real Roxy process in-process: Kestrel on a loopback port, a co-hosted silo (or an Orleans client in cluster
/// mode), real PostgreSQL. Built from a YAML text and an environment, exactly as Program.cs builds it.
/// </summary>
public sealed class RoxyTestHost : IAsyncDisposable
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseCookies = false }) { Timeout = TimeSpan.FromSeconds(60) };

    private RoxyTestHost(WebApplication app, Uri baseUrl, CapturedLogs logs, string configPath)
    {
        App = app;
        BaseUrl = baseUrl;
        Logs = logs;
        ConfigPath = configPath;
    }

    public WebApplication App { get; }

    /// <summary>http://127.0.0.1:PORT/ — the OpenAI base URL is <c>BaseUrl + "v1"</c>.</summary>
    public Uri BaseUrl { get; }

    public Uri V1 => new(BaseUrl, "v1/");

    public CapturedLogs Logs { get; }

    public string ConfigPath { get; }

    public IGrainFactory Grains => App.Services.GetRequiredService<IGrainFactory>();

    /// <param name="configure">Runs after Roxy's own registrations, so a test can replace a service.</param>
    public static async Task<RoxyTestHost> StartAsync(
        string yaml, IReadOnlyDictionary<string, string?> environment, string postgres, Action<WebApplicationBuilder>? configure = null)
    {
        var dir = Directory.CreateTempSubdirectory("roxy-test-");
        var configPath = Path.Combine(dir.FullName, "config.yaml");
        await File.WriteAllTextAsync(configPath, yaml);
        var env = new Dictionary<string, string?>(environment, StringComparer.Ordinal) { ["ROXY_POSTGRES"] = postgres };
        if (!env.ContainsKey("ROXY_SILO_PORT"))
        {
            env["ROXY_SILO_PORT"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
            env["ROXY_GATEWAY_PORT"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var logs = new CapturedLogs();
        var app = await RoxyHost.CreateAsync(new RoxyHostSettings
        {
            ConfigPath = configPath,
            Environment = env,
            Urls = "http://127.0.0.1:0",
            Configure = builder =>
            {
                builder.Logging.ClearProviders();
                builder.Logging.AddProvider(logs);
                builder.Logging.SetMinimumLevel(LogLevel.Information);
                configure?.Invoke(builder);
            },
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RoxyTestHost(app, new Uri(address.TrimEnd('/') + "/"), logs, configPath);
    }

    public ChatClient Chat(string model, string token) =>
        new(model, new ApiKeyCredential(token), new OpenAIClientOptions { Endpoint = V1, NetworkTimeout = TimeSpan.FromSeconds(30) });

    /// <summary>Sends a request to Roxy; <paramref name="token"/> goes into <c>Authorization: Bearer</c>.</summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, string? json = null, Action<HttpRequestMessage>? configure = null, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        var request = new HttpRequestMessage(method, new Uri(BaseUrl, path.TrimStart('/')));
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        configure?.Invoke(request);
        return Http.SendAsync(request, completion);
    }

    public Task<HttpResponseMessage> PostChatAsync(string token, string json, Action<HttpRequestMessage>? configure = null) =>
        SendAsync(HttpMethod.Post, "v1/chat/completions", token, json, configure);

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await App.StopAsync(cts.Token);
        }
        finally
        {
            await App.DisposeAsync();
            // The host's own directory holds only its config file: left behind, every run would add one per host.
            try
            {
                Directory.Delete(Path.GetDirectoryName(ConfigPath)!, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
