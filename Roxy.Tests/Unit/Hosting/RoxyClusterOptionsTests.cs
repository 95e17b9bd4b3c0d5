using Roxy.Grains.Hosting;

namespace Roxy.Tests.Unit.Hosting;

public sealed class RoxyClusterOptionsTests
{
    [Fact]
    public void Values_from_secret_files_lose_their_trailing_newline()
    {
        var env = new Dictionary<string, string>
        {
            ["ROXY_POSTGRES"] = "Host=db;Database=roxy\n",
            ["ROXY_CLUSTER_ID"] = "prod\n",
            ["ROXY_SERVICE_ID"] = "roxy \n",
            ["ROXY_STARTUP_WAIT_SEC"] = "5\n",
        };

        var (options, errors) = RoxyClusterOptions.FromEnvironment(name => env.GetValueOrDefault(name));

        Assert.Empty(errors);
        Assert.Equal(("Host=db;Database=roxy", "prod", "roxy", TimeSpan.FromSeconds(5)),
            (options!.PostgresConnectionString, options.ClusterId, options.ServiceId, options.StartupWait));
    }

    [Fact]
    public void A_bad_startup_wait_is_one_line()
    {
        var (options, errors) = RoxyClusterOptions.FromEnvironment(name => name switch
        {
            "ROXY_POSTGRES" => "Host=db",
            "ROXY_STARTUP_WAIT_SEC" => "soon",
            _ => null,
        });

        Assert.Null(options);
        Assert.Equal("ROXY_STARTUP_WAIT_SEC: 'soon' is not a number of seconds; use 0 to 3600", Assert.Single(errors));
    }
}
