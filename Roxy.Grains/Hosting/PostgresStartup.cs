using System.Net.Sockets;
using Npgsql;

namespace Roxy.Grains.Hosting;

/// <summary>
/// The first thing a Roxy process does with PostgreSQL: apply the schema, waiting a bounded time for a server that
/// is still starting (compose and Kubernetes start everything at once), then giving up with one clear line.
/// </summary>
public static class PostgresStartup
{
    public const string WaitVariable = "ROXY_STARTUP_WAIT_SEC";
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Pause = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestAttempt = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Applies the schema, retrying while PostgreSQL is unreachable or starting, for up to <paramref name="patience"/>.
    /// <paramref name="waiting"/> gets one line when the wait begins. Refusals that waiting cannot cure (a wrong
    /// password, a missing database) fail at once.
    /// </summary>
    /// <exception cref="PostgresUnavailableException">PostgreSQL was not usable within the patience.</exception>
    public static async Task EnsureSchemaAsync(string connectionString, TimeSpan patience, Action<string> waiting, CancellationToken cancellationToken = default)
    {
        NpgsqlConnectionStringBuilder target;
        try
        {
            target = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException)
        {
            // Npgsql's message may quote the string, and the string may hold the password.
            throw new PostgresUnavailableException("ROXY_POSTGRES is not a valid Npgsql connection string; expected Host=...;Port=...;Username=...;Password=...;Database=...");
        }

        var where = $"{target.Host}:{target.Port}";
        var started = DateTimeOffset.UtcNow;
        var announced = false;
        while (true)
        {
            var left = patience - (DateTimeOffset.UtcNow - started);
            var attempt = new NpgsqlConnectionStringBuilder(target.ConnectionString)
            {
                // One slow attempt (a firewall that drops packets) must not outlast the patience by much.
                Timeout = (int)Math.Clamp(Math.Ceiling(left.TotalSeconds), 2, LongestAttempt.TotalSeconds),
            };
            try
            {
                await PostgresSchema.EnsureAsync(attempt.ConnectionString, cancellationToken);
                return;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && IsConnectionProblem(ex))
            {
                var cause = CauseOf(ex);
                if (!IsWorthWaiting(ex) || DateTimeOffset.UtcNow - started + Pause > patience)
                {
                    var waited = (int)Math.Round((DateTimeOffset.UtcNow - started).TotalSeconds);
                    throw new PostgresUnavailableException(
                        $"cannot use PostgreSQL at {where} (database {target.Database ?? "(default)"}): {cause}"
                        + (IsWorthWaiting(ex) ? $"; gave up after {waited} s (server.startup_wait_sec or {WaitVariable} sets the wait)" : ""),
                        ex);
                }

                if (!announced)
                {
                    announced = true;
                    waiting($"waiting up to {(int)patience.TotalSeconds} s for PostgreSQL at {where}: {cause}");
                }

                await Task.Delay(Pause, cancellationToken);
            }
        }
    }

    /// <summary>Reads <see cref="WaitVariable"/> (seconds, 0 or more); null when it is unset, an error line when it is bad.</summary>
    public static (TimeSpan? Wait, string? Error) WaitFromEnvironment(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return (null, null);
        }

        return int.TryParse(text.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds <= 3600
            ? (TimeSpan.FromSeconds(seconds), null)
            : (null, $"{WaitVariable}: '{text.Trim()}' is not a number of seconds; use 0 to 3600");
    }

    private static bool IsConnectionProblem(Exception ex) => ex is NpgsqlException or SocketException or TimeoutException;

    // Connection refused, host not resolvable yet, "the database system is starting up": a server on its way.
    private static bool IsWorthWaiting(Exception ex) => ex switch
    {
        PostgresException pg => pg.IsTransient || pg.SqlState is "57P03",
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is SocketException or IOException or TimeoutException,
        _ => true,
    };

    private static string CauseOf(Exception ex)
    {
        if (ex is PostgresException pg)
        {
            return $"{pg.MessageText} ({pg.SqlState})";
        }

        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is SocketException socket)
            {
                return socket.Message;
            }

            if (e is TimeoutException)
            {
                return "no answer in time";
            }
        }

        var innermost = ex;
        while (innermost.InnerException is not null)
        {
            innermost = innermost.InnerException;
        }

        return innermost.Message.ReplaceLineEndings(" ");
    }
}
