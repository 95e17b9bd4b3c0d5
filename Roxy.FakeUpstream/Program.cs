using Roxy.FakeUpstream;

// Standalone mode: dotnet run --project Roxy.FakeUpstream -- --port 9100 [--protocol openai|anthropic] [--no-record] [--chunks 5]
var options = new FakeUpstreamOptions { Port = 9100, ConsoleLogging = true };
var anthropic = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--port" when i + 1 < args.Length:
            options.Port = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            break;
        case "--protocol" when i + 1 < args.Length && args[i + 1] is "openai" or "anthropic":
            anthropic = args[++i] == "anthropic";
            break;
        case "--no-record":
            options.RecordRequests = false;
            break;
        case "--chunks" when i + 1 < args.Length:
            options.ContentChunks = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            break;
        default:
            Console.Error.WriteLine($"Unknown argument: {args[i]}");
            Console.Error.WriteLine("Usage: Roxy.FakeUpstream [--port 9100] [--protocol openai|anthropic] [--no-record] [--chunks 5]");
            return 2;
    }
}

var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.TrySetResult();
};
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
{
    ctx.Cancel = true;
    stop.TrySetResult();
});

if (anthropic)
{
    await using var server = await FakeAnthropicServer.StartAsync(options);
    Console.WriteLine($"Fake Anthropic upstream listening on {server.BaseUrl} (recording {(options.RecordRequests ? "on" : "off")}). Ctrl+C to stop.");
    await stop.Task;
}
else
{
    await using var server = await FakeOpenAiServer.StartAsync(options);
    Console.WriteLine($"Fake OpenAI upstream listening on {server.BaseUrl} (recording {(options.RecordRequests ? "on" : "off")}). Ctrl+C to stop.");
    await stop.Task;
}

return 0;
