using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Roxy.Api.Hosting;
using Roxy.Grains.Hosting;
using Roxy.Grains.Hosting.Dashboard;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// The Orleans dashboard: off unless configured; when on, the co-hosted silo of Roxy.Api and every Roxy.Silo process
/// serve it under /dashboard/ on a port of its own (nothing else there, and no dashboard on the API port), guarded by
/// the operator token when one is set, and never open beyond loopback without it.
/// </summary>
public sealed class DashboardTests
{
    private const string Token = "dashboard-admin-token-0123456789";
    private const string OperatorSecret = "dashboard-operator-token-0123456789";
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };

    private static string Yaml(string cluster = "") => $$"""
        tokens: [{ token_env: ROXY_TOKEN, role: admin }]
        cache: { enabled: false }
        {{cluster}}
        """;

    [Fact]
    public async Task It_is_off_by_default_a_single_listener_and_no_dashboard_route()
    {
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("dashboard_off");
        await using var roxy = await RoxyTestHost.StartAsync(Yaml(), new Dictionary<string, string?> { ["ROXY_TOKEN"] = Token }, postgres);

        var addresses = roxy.App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        Assert.Single(addresses);
        using var page = await Http.GetAsync(new Uri(roxy.BaseUrl, "dashboard/"));
        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        Assert.Contains("\"error\"", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var (options, errors) = RoxyClusterOptions.FromEnvironment(name => name == "ROXY_POSTGRES" ? postgres : null);
        Assert.Empty(errors);
        Assert.False(options!.Dashboard.Enabled);
    }

    [Fact]
    public async Task When_on_the_co_hosted_silo_serves_it_on_its_own_port_only_there_and_asks_for_the_operator_token()
    {
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("dashboard_on");
        var port = FreePorts.Next();
        var env = new Dictionary<string, string?> { ["ROXY_TOKEN"] = Token, ["ROXY_ADMIN_TOKEN"] = OperatorSecret };
        await using var roxy = await RoxyTestHost.StartAsync(Yaml($"cluster: {{ dashboard: {{ enabled: true, port: {port} }} }}"), env, postgres);
        var dashboard = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");

        using var refused = await Http.GetAsync(new Uri(dashboard, "dashboard/"));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.StartsWith("Basic", refused.Headers.WwwAuthenticate.Single().Scheme, StringComparison.Ordinal);
        using var wrong = await GetAsync(new Uri(dashboard, "dashboard/"), Basic("wrong-token"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);

        using var page = await GetAsync(new Uri(dashboard, "dashboard/"), Basic(OperatorSecret));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<html", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        using var stats = await GetAsync(new Uri(dashboard, "dashboard/DashboardCounters"), new AuthenticationHeaderValue("Bearer", OperatorSecret));
        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
        Assert.Contains("\"hosts\"", await stats.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        // Roxy's API is not on the dashboard port, and the dashboard is not on the API port.
        using var api = await GetAsync(new Uri(dashboard, "v1/models"), new AuthenticationHeaderValue("Bearer", Token));
        Assert.Equal(HttpStatusCode.NotFound, api.StatusCode);
        using var onApiPort = await GetAsync(new Uri(roxy.BaseUrl, "dashboard/"), Basic(OperatorSecret));
        Assert.Equal(HttpStatusCode.NotFound, onApiPort.StatusCode);
        using var models = await roxy.SendAsync(HttpMethod.Get, "v1/models", Token);
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
    }

    [Fact]
    public async Task On_the_API_port_a_Host_header_naming_the_dashboard_port_gets_Roxys_404_never_the_dashboard()
    {
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("dashboard_host_header");
        var port = FreePorts.Next();
        var env = new Dictionary<string, string?> { ["ROXY_TOKEN"] = Token, ["ROXY_ADMIN_TOKEN"] = OperatorSecret };
        await using var roxy = await RoxyTestHost.StartAsync(Yaml($"cluster: {{ dashboard: {{ enabled: true, port: {port} }} }}"), env, postgres);
        var dashboardPort = port.ToString(CultureInfo.InvariantCulture);

        // The Host header is the client's to choose: naming the dashboard's port must not open the dashboard (and its
        // token check) on the API port, with or without a token, under any host name.
        foreach (var host in new[] { $"x:{dashboardPort}", $"127.0.0.1:{dashboardPort}", $"localhost:{dashboardPort}" })
        {
            foreach (var path in new[] { "dashboard/DashboardCounters", "dashboard/", "dashboard" })
            {
                foreach (var authorization in new AuthenticationHeaderValue?[] { null, Basic(OperatorSecret) })
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(roxy.BaseUrl, path));
                    request.Headers.Host = host;
                    request.Headers.Authorization = authorization;
                    using var response = await Http.SendAsync(request);
                    var body = await response.Content.ReadAsStringAsync();
                    Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{host} {path}: {(int)response.StatusCode} {body}");
                    Assert.Contains("\"error\"", body, StringComparison.Ordinal);
                    Assert.DoesNotContain("hosts", body, StringComparison.OrdinalIgnoreCase);
                }
            }
        }

        // On its own port the same requests still reach it.
        using var counters = await GetAsync(new Uri($"http://127.0.0.1:{dashboardPort}/dashboard/DashboardCounters"), Basic(OperatorSecret));
        Assert.Equal(HttpStatusCode.OK, counters.StatusCode);
        Assert.Contains("\"hosts\"", await counters.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Every_Roxy_Silo_process_serves_it_when_on_and_none_does_when_off()
    {
        var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("dashboard_silos");
        const string clusterId = "roxy-dashboard-silos";
        var ports = new[] { FreePorts.Next(), FreePorts.Next() };
        var silos = new List<SiloProcess>();
        try
        {
            foreach (var port in ports)
            {
                silos.Add(await SiloProcess.StartAsync(postgres, clusterId, new Dictionary<string, string>
                {
                    [RoxyDashboardOptions.EnabledVariable] = "true",
                    [RoxyDashboardOptions.PortVariable] = port.ToString(CultureInfo.InvariantCulture),
                }));
            }

            foreach (var port in ports)
            {
                var root = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
                using var redirect = await Http.GetAsync(root);
                Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
                Assert.Equal("/dashboard/", redirect.Headers.Location!.OriginalString);
                using var page = await Http.GetAsync(new Uri(root, "dashboard/"));
                Assert.Equal(HttpStatusCode.OK, page.StatusCode);
                Assert.Contains("<html", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
                // Each silo's dashboard sees the whole cluster: both silos.
                await Eventually.TrueAsync(async () =>
                {
                    using var counters = await Http.GetAsync(new Uri(root, "dashboard/DashboardCounters"));
                    var text = await counters.Content.ReadAsStringAsync();
                    return counters.StatusCode == HttpStatusCode.OK && text.Contains("\"totalActiveHostCount\":2", StringComparison.Ordinal);
                }, TimeSpan.FromSeconds(30), $"the dashboard on {port} did not list both silos");
            }
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }
        }

        // Off (the default): the same process opens no web port at all. (A cluster of its own: the killed silos above
        // would first have to be declared dead.)
        var quietPort = FreePorts.Next();
        await using var quiet = await SiloProcess.StartAsync(postgres, clusterId + "-off", new Dictionary<string, string>
        {
            [RoxyDashboardOptions.PortVariable] = quietPort.ToString(CultureInfo.InvariantCulture),
        });
        await Assert.ThrowsAsync<HttpRequestException>(() => Http.GetAsync(new Uri($"http://127.0.0.1:{quietPort.ToString(CultureInfo.InvariantCulture)}/dashboard/")));
    }

    [Fact]
    public async Task Binding_it_beyond_loopback_without_the_operator_token_stops_start_up_with_one_clear_line()
    {
        var dir = Directory.CreateTempSubdirectory("roxy-dashboard-");
        try
        {
            var path = Path.Combine(dir.FullName, "config.yaml");
            await File.WriteAllTextAsync(path, Yaml("cluster: { dashboard: { enabled: true, host: 0.0.0.0 } }"));
            var failure = await Assert.ThrowsAsync<RoxyStartupException>(() => RoxyHost.CreateAsync(new RoxyHostSettings
            {
                ConfigPath = path,
                Environment = new Dictionary<string, string?> { ["ROXY_TOKEN"] = Token, ["ROXY_POSTGRES"] = "Host=127.0.0.1;Port=1;Username=x;Database=x" },
            }));
            var line = Assert.Single(failure.Problems);
            Assert.StartsWith("cluster.dashboard.host:", line, StringComparison.Ordinal);
            Assert.Contains("ROXY_ADMIN_TOKEN", line, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }

        var errors = new List<string>();
        RoxyDashboardOptions.FromEnvironment(name => name switch { "ROXY_DASHBOARD" => "true", "ROXY_DASHBOARD_HOST" => "0.0.0.0", _ => null }, errors);
        Assert.StartsWith("ROXY_DASHBOARD_HOST:", Assert.Single(errors), StringComparison.Ordinal);
        errors.Clear();
        var guarded = RoxyDashboardOptions.FromEnvironment(name => name switch { "ROXY_DASHBOARD" => "true", "ROXY_DASHBOARD_HOST" => "0.0.0.0", "ROXY_ADMIN_TOKEN" => OperatorSecret, _ => null }, errors);
        Assert.Empty(errors);
        Assert.DoesNotContain(OperatorSecret, guarded.ToString(), StringComparison.Ordinal);
        RoxyDashboardOptions.FromEnvironment(name => name == "ROXY_DASHBOARD" ? "yes please" : null, errors);
        Assert.Equal("ROXY_DASHBOARD: 'yes please' is not a switch; use true or false", Assert.Single(errors));
    }

    private static AuthenticationHeaderValue Basic(string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("operator:" + password)));

    private static Task<HttpResponseMessage> GetAsync(Uri url, AuthenticationHeaderValue authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = authorization;
        return Http.SendAsync(request);
    }
}
