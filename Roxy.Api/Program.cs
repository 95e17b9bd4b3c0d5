using Roxy.Api.Hosting;

// Roxy: one process serving the OpenAI-compatible API, co-hosting a silo unless cluster.mode is "cluster".
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
