using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Roxy.Tests.Fixtures;

/// <summary>
/// A provider that answers whatever a test scripts, byte for byte: absurd usage numbers, absurd rate-limit headers,
/// garbage bodies, SSE lines that never end. Kestrel on loopback port 0. Unscripted requests get a normal completion.
/// </summary>
public sealed class HostileUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private volatile Func<HttpContext, Task> _handler = ctx => WriteCompletionAsync(ctx, 10, 5);
    private int _requests;

    private HostileUpstream(WebApplication app) => _app = app;

    /// <summary>http://127.0.0.1:PORT/v1</summary>
    public Uri BaseUrl { get; private set; } = null!;

    public int Requests => Volatile.Read(ref _requests);

    public static async Task<HostileUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MinResponseDataRate = null;
            k.Listen(IPAddress.Loopback, 0);
        });
        var app = builder.Build();
        var upstream = new HostileUpstream(app);
        app.Run(ctx =>
        {
            Interlocked.Increment(ref upstream._requests);
            return upstream._handler(ctx);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        upstream.BaseUrl = new Uri($"http://127.0.0.1:{new Uri(address).Port}/v1");
        return upstream;
    }

    /// <summary>Every following request is answered by <paramref name="handler"/>.</summary>
    public void Answer(Func<HttpContext, Task> handler) => _handler = handler;

    /// <summary>Back to normal completions with the given usage.</summary>
    public void AnswerNormally(long promptTokens = 10, long completionTokens = 5) =>
        _handler = ctx => WriteCompletionAsync(ctx, promptTokens, completionTokens);

    /// <summary>A chat.completion with a usage object written verbatim (so any number, or anything, can go in).</summary>
    public static Task WriteCompletionAsync(HttpContext ctx, string usageJson, IReadOnlyDictionary<string, string>? headers = null)
    {
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/json";
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            ctx.Response.Headers[name] = value;
        }

        return ctx.Response.WriteAsync(
            "{\"id\":\"chatcmpl-hostile\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"gpt-4o-mini\","
            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":" + usageJson + "}");
    }

    /// <summary>A normal answer: SSE chunks ending with a usage chunk and [DONE] when the request streams, JSON otherwise.</summary>
    public static async Task WriteCompletionAsync(HttpContext ctx, long promptTokens, long completionTokens)
    {
        var usage = $"{{\"prompt_tokens\":{promptTokens},\"completion_tokens\":{completionTokens},\"total_tokens\":{promptTokens + completionTokens}}}";
        using var reader = new StreamReader(ctx.Request.Body);
        var request = await reader.ReadToEndAsync();
        if (!request.Contains("\"stream\":true", StringComparison.Ordinal))
        {
            await WriteCompletionAsync(ctx, usage);
            return;
        }

        ctx.Response.ContentType = "text/event-stream";
        const string chunk = "{\"id\":\"chatcmpl-hostile\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",";
        await ctx.Response.WriteAsync("data: " + chunk + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":null}]}\n\n");
        await ctx.Response.WriteAsync("data: " + chunk + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
        await ctx.Response.WriteAsync("data: " + chunk + "\"choices\":[],\"usage\":" + usage + "}\n\ndata: [DONE]\n\n");
    }

    /// <summary>An OpenAI error body with the given status and headers.</summary>
    public static Task WriteErrorAsync(HttpContext ctx, int status, string code, IReadOnlyDictionary<string, string> headers)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        foreach (var (name, value) in headers)
        {
            ctx.Response.Headers[name] = value;
        }

        return ctx.Response.WriteAsync($"{{\"error\":{{\"message\":\"scripted {status}\",\"type\":\"requests\",\"param\":null,\"code\":\"{code}\"}}}}");
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await _app.StopAsync(cts.Token);
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }
}
