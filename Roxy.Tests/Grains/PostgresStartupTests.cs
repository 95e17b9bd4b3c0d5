using System.Net;
using System.Net.Sockets;
using Npgsql;
using Roxy.Grains.Hosting;
using Roxy.Tests.Fixtures;

namespace Roxy.Tests.Grains;

/// <summary>PostgreSQL not (yet) reachable at start: wait with bounded patience, then one line naming host, port and cause.</summary>
public sealed class PostgresStartupTests
{
    [Fact]
    public async Task Schema_is_applied_once_postgres_accepts_connections_within_the_patience()
    {
        var server = await PostgresServer.GetAsync();
        var target = new NpgsqlConnectionStringBuilder(await server.CreateDatabaseAsync("startup_wait"));
        // Stands in for a PostgreSQL that is still starting: the first connections are closed at once.
        await using var gate = await RefusingForwarder.StartAsync(target.Host!, target.Port, refuseFirst: 2);
        var viaGate = new NpgsqlConnectionStringBuilder(target.ConnectionString) { Host = "127.0.0.1", Port = gate.Port, Pooling = false }.ConnectionString;
        var waiting = new List<string>();

        await PostgresStartup.EnsureSchemaAsync(viaGate, TimeSpan.FromSeconds(120), waiting.Add);

        Assert.True(gate.Accepted >= 3, $"expected the refused attempts to be retried, saw {gate.Accepted} connection(s)");
        var line = Assert.Single(waiting);
        Assert.Contains($"127.0.0.1:{gate.Port}", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_postgres_fails_with_one_line_naming_host_port_and_cause_and_never_the_password()
    {
        var port = FreePorts.Next();

        var failure = await Assert.ThrowsAsync<PostgresUnavailableException>(() => PostgresStartup.EnsureSchemaAsync(
            $"Host=127.0.0.1;Port={port};Username=roxy;Password=hunter2-pg-secret;Database=roxy", TimeSpan.Zero, _ => { }));

        Assert.DoesNotContain('\n', failure.Message);
        Assert.Contains($"127.0.0.1:{port}", failure.Message, StringComparison.Ordinal);
        Assert.Contains("refused", failure.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("hunter2", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_database_is_not_waited_for()
    {
        var server = await PostgresServer.GetAsync();
        var target = new NpgsqlConnectionStringBuilder(server.AdminConnectionString) { Database = "no_such_database_here" };

        var failure = await Assert.ThrowsAsync<PostgresUnavailableException>(() =>
            PostgresStartup.EnsureSchemaAsync(target.ConnectionString, TimeSpan.FromMinutes(10), _ => Assert.Fail("a missing database is not worth waiting for")));

        Assert.Contains("no_such_database_here", failure.Message, StringComparison.Ordinal);
        Assert.Contains($"{target.Host}:{target.Port}", failure.Message, StringComparison.Ordinal);
    }

    /// <summary>A loopback TCP forwarder that closes its first connections without a word, then relays.</summary>
    private sealed class RefusingForwarder : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly string _host;
        private readonly int _port;
        private readonly int _refuseFirst;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _accepted;

        private RefusingForwarder(TcpListener listener, string host, int port, int refuseFirst)
        {
            _listener = listener;
            _host = host;
            _port = port;
            _refuseFirst = refuseFirst;
            _loop = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Accepted => Volatile.Read(ref _accepted);

        public static Task<RefusingForwarder> StartAsync(string host, int port, int refuseFirst)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return Task.FromResult(new RefusingForwarder(listener, host, port, refuseFirst));
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                if (Interlocked.Increment(ref _accepted) <= _refuseFirst)
                {
                    client.Client.LingerState = new LingerOption(true, 0);
                    client.Dispose();
                    continue;
                }

                _ = RelayAsync(client);
            }
        }

        private async Task RelayAsync(TcpClient client)
        {
            using (client)
            using (var upstream = new TcpClient())
            {
                await upstream.ConnectAsync(_host, _port, _stop.Token);
                var a = client.GetStream();
                var b = upstream.GetStream();
                await Task.WhenAny(a.CopyToAsync(b, _stop.Token), b.CopyToAsync(a, _stop.Token));
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _loop;
            _stop.Dispose();
        }
    }
}
