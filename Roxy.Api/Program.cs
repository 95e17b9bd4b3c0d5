using Roxy.Api.Hosting;

// Roxy: one process serving the OpenAI-compatible API, co-hosting a silo unless cluster.mode is "cluster".

// Socket completions run on the socket engine's own threads (one per core) instead of being queued to the thread
// pool: together with Kestrel's inline scheduling (RoxyHost) a proxied request needs far fewer thread switches.
// The runtime reads this once, when the first socket is used, so it is set before anything else; an operator's
// own value wins.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

try
{
    var app = await RoxyHost.CreateAsync(RoxyHostSettings.FromProcess(args), args);
    await app.RunAsync();
    return 0;
}
catch (RoxyStartupException ex)
{
    foreach (var problem in ex.Problems)
    {
        Console.Error.WriteLine(problem);
    }

    Console.Error.WriteLine($"roxy: not started ({ex.Problems.Count} problem{(ex.Problems.Count == 1 ? "" : "s")})");
    return 2;
}

/// <summary>Visible to tests and tools that host Roxy in-process.</summary>
public partial class Program;
