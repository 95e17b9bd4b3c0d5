using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Time.Testing;
using Roxy.Api.Inbound;
using Roxy.Api.Protocols;
using Roxy.Api.Proxy;
using Roxy.Api.Routing;

namespace Roxy.Tests.Unit.Proxy;

public sealed class StreamKeepAliveTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly CountingSink _sink = new(TimeSpan.FromSeconds(10));

    [Fact]
    public async Task A_ping_goes_out_after_an_interval_of_silence_and_never_while_the_relay_writes()
    {
        var keepAlive = StreamKeepAlive.Start(_sink, _time, CancellationToken.None)!;
        // The relay holds the gate from the start: however long it takes, no ping interleaves with its events.
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(0, _sink.Pings);

        keepAlive.Exit(wrote: true);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(0, _sink.Pings);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, _sink.Pings);
        Assert.Equal(1, _sink.Flushes);

        // Silence counts from the ping, so the next comes an interval later, not at every tick.
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, _sink.Pings);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(2, _sink.Pings);

        await keepAlive.EnterAsync();
        _time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(2, _sink.Pings);
        keepAlive.Exit(wrote: true);

        await keepAlive.DisposeAsync();
        _time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(2, _sink.Pings);
    }

    [Fact]
    public async Task Upstream_events_the_client_never_sees_do_not_count_as_keeping_it_alive()
    {
        var keepAlive = StreamKeepAlive.Start(_sink, _time, CancellationToken.None)!;
        keepAlive.Exit(wrote: true);
        // A reasoning model streams thinking the client's protocol does not carry: reads, but nothing written.
        for (var i = 0; i < 4; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(2));
            await keepAlive.EnterAsync();
            keepAlive.Exit(wrote: false);
        }

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, _sink.Pings);
        await keepAlive.DisposeAsync();
    }

    [Fact]
    public void A_protocol_without_keep_alives_gets_no_timer() =>
        Assert.Null(StreamKeepAlive.Start(new CountingSink(null), _time, CancellationToken.None));

    private sealed class CountingSink(TimeSpan? interval) : IClientSink
    {
        public int Pings { get; private set; }

        public int Flushes { get; private set; }

        public WireProtocol Protocol => WireProtocol.AnthropicMessages;

        public TimeSpan? KeepAliveInterval => interval;

        public void WriteKeepAlive() => Pings++;

        public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken)
        {
            Flushes++;
            return ValueTask.FromResult(new FlushResult(isCanceled: false, isCompleted: false));
        }

        public void Commit(HttpResponseMessage? upstream, RouteTarget target, string? keyId, bool stream) => throw new NotSupportedException();

        public void WriteRaw(in ReadOnlySequence<byte> sseEvent) => throw new NotSupportedException();

        public void WriteEvent(in ChatEvent chatEvent) => throw new NotSupportedException();

        public ValueTask WriteBodyAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask WriteCompletionAsync(ChatCompletion completion, CancellationToken cancellationToken) => throw new NotSupportedException();

        public void Complete() => throw new NotSupportedException();
    }
}
