using Roxy.Api.Inbound;

namespace Roxy.Api.Proxy;

/// <summary>
/// Keep-alive events for a committed stream whose client protocol has them (Anthropic's <c>ping</c>): when the
/// upstream is silent for the sink's interval (a model thinking before its first tool call), a ping goes out so
/// proxies and clients on the way do not take the quiet connection for a dead one. The relay and the timer never
/// write at once: the relay holds the gate from an upstream read's return to its flush.
/// </summary>
internal sealed class StreamKeepAlive : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(0, 1);
    private readonly IClientSink _sink;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly CancellationToken _aborted;
    private readonly ITimer _timer;
    private long _lastWrite;
    private bool _relayHolds = true;

    private StreamKeepAlive(IClientSink sink, TimeProvider time, TimeSpan interval, CancellationToken aborted)
    {
        _sink = sink;
        _time = time;
        _interval = interval;
        _aborted = aborted;
        _lastWrite = time.GetTimestamp();
        // Checked twice per interval: a ping goes out between one and one and a half intervals of silence.
        _timer = time.CreateTimer(static state => ((StreamKeepAlive)state!).Tick(), this, interval / 2, interval / 2);
    }

    /// <summary>Null when the client's protocol has no keep-alive. The relay holds the gate when this returns.</summary>
    public static StreamKeepAlive? Start(IClientSink sink, TimeProvider time, CancellationToken aborted) =>
        sink.KeepAliveInterval is { } interval && interval > TimeSpan.Zero ? new StreamKeepAlive(sink, time, interval, aborted) : null;

    /// <summary>The relay is about to write: waits for a ping being written, if one is.</summary>
    public async Task EnterAsync()
    {
        await _gate.WaitAsync(_aborted);
        _relayHolds = true;
    }

    /// <summary>The relay is done writing; when it <paramref name="wrote"/> to the client, silence counts from now.</summary>
    public void Exit(bool wrote)
    {
        if (wrote)
        {
            Volatile.Write(ref _lastWrite, _time.GetTimestamp());
        }

        _relayHolds = false;
        _gate.Release();
    }

    private async void Tick()
    {
        if (!_gate.Wait(0))
        {
            return;
        }

        try
        {
            if (_time.GetElapsedTime(Volatile.Read(ref _lastWrite)) < _interval)
            {
                return;
            }

            _sink.WriteKeepAlive();
            await _sink.FlushAsync(_aborted);
            Volatile.Write(ref _lastWrite, _time.GetTimestamp());
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException or ObjectDisposedException)
        {
            // The client is gone or the response is over: the relay finds out on its own.
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops the timer and waits out a ping being written, so the relay owns the response again.</summary>
    public async ValueTask DisposeAsync()
    {
        await _timer.DisposeAsync();
        if (!_relayHolds)
        {
            await _gate.WaitAsync(CancellationToken.None);
            _relayHolds = true;
        }
    }
}
