using System.Data.Common;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Serialization;

namespace Roxy.Grains.Hosting;

/// <summary>
/// Tells PostgreSQL trouble from other failures, on both sides of a grain call: a grain keeps its activation when the
/// database could not be reached, and a frontend answers 503 <c>storage_unavailable</c> rather than 500.
/// </summary>
public static class StorageFailure
{
    /// <summary>
    /// The Npgsql exceptions grains throw cross to frontends as themselves: by default Orleans serializes exceptions
    /// of the System and Microsoft namespaces only, and a grain call that failed on a stopped PostgreSQL reached the
    /// caller as a <c>CodecNotFoundException</c> instead.
    /// </summary>
    public static void SerializeNpgsqlExceptions(IServiceCollection services) =>
        services.Configure<ExceptionSerializationOptions>(o => o.SupportedNamespacePrefixes.Add("Npgsql"));

    /// <summary>Whether <paramref name="ex"/>, or an exception it wraps, is PostgreSQL failing (also as seen from another process).</summary>
    public static bool IsStorage(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is DbException or PostgresUnavailableException
                || (e is UnavailableExceptionFallbackException fallback && fallback.ExceptionType?.StartsWith("Npgsql.", StringComparison.Ordinal) == true))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether <paramref name="ex"/> says PostgreSQL could not be reached or dropped the connection (refused, reset,
    /// shut down, timed out), so that a write it failed did not change the table: the statement never ran, or the
    /// server aborted its transaction. A write whose commit went through but whose answer was lost shows up at the
    /// next write, whose version check then fails (<c>InconsistentStateException</c>, not this).
    /// </summary>
    public static bool IsUnreachable(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                // 08: connection exceptions; 57P01-57P03: the server shutting down or starting up.
                case PostgresException pg:
                    return pg.SqlState is { } state && (state.StartsWith("08", StringComparison.Ordinal) || state is "57P01" or "57P02" or "57P03");
                case NpgsqlException npgsql when npgsql.InnerException is SocketException or IOException or TimeoutException:
                    return true;
            }
        }

        return false;
    }
}
