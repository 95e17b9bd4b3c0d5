namespace Roxy.Grains.Hosting;

/// <summary>PostgreSQL could not be used at start; the message is one line naming host, port and cause, never a password.</summary>
public sealed class PostgresUnavailableException(string message, Exception? cause = null) : Exception(message, cause);
