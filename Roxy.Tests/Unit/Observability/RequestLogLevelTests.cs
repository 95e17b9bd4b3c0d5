using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Roxy.Api.Errors;
using Roxy.Api.Inbound.OpenAi;
using Roxy.Api.Observability;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;
using Roxy.Api.Tenancy;
using Roxy.Grains.Tenancy;

namespace Roxy.Tests.Unit.Observability;

/// <summary>The request log costs nothing past the level check when Information is off (<c>logging.level: warning</c>).</summary>
public sealed class RequestLogLevelTests : IDisposable
{
    private readonly PooledBuffer _body = new(256);
    private readonly ProxyRequest _request;

    public RequestLogLevelTests()
    {
        _body.Write(Encoding.UTF8.GetBytes("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Null(ChatRequestReader.TryRead(_body.Span, out var info));
        var http = new DefaultHttpContext();
        _request = new ProxyRequest(http, "req_1", new TenantIdentity("acme", "t-0123456789", TenantRole.Member), _body, info);
        _request.Sink = new OpenAiChatSink(_request, TimeProvider.System);
    }

    public void Dispose() => _body.Dispose();

    [Fact]
    public void Nothing_is_formatted_when_information_is_off()
    {
        var logger = new CountingLogger(LogLevel.Warning);

        RequestLog.Write(logger, _request, 200);
        RequestLog.Rejected(logger, new DefaultHttpContext(), "req_2", null, WireProtocol.OpenAiChat, ProxyError.InvalidApiKey);

        Assert.Equal(0, logger.Logged);
    }

    [Fact]
    public void One_entry_per_call_when_information_is_on()
    {
        var logger = new CountingLogger(LogLevel.Information);

        RequestLog.Write(logger, _request, 200);
        RequestLog.Rejected(logger, new DefaultHttpContext(), "req_2", null, WireProtocol.OpenAiChat, ProxyError.InvalidApiKey);

        Assert.Equal(2, logger.Logged);
    }

    // Fails the test if an entry is formatted or handed over below its level.
    private sealed class CountingLogger(LogLevel minimum) : ILogger
    {
        public int Logged { get; private set; }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            Assert.True(IsEnabled(logLevel), $"an entry at {logLevel} was handed over with the minimum at {minimum}");
            Logged++;
        }
    }
}
