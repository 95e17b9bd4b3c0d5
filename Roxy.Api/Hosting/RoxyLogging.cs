using Roxy.Api.Configuration;

namespace Roxy.Api.Hosting;

/// <summary>The console output <c>logging:</c> selects. The category filters stay as RoxyHost sets them.</summary>
public static class RoxyLogging
{
    public static ILoggingBuilder UseRoxyLogging(this ILoggingBuilder logging, LoggingConfig config)
    {
        logging.SetMinimumLevel(Enum.Parse<LogLevel>(config.Level, ignoreCase: true));
        if (config.Format == "json")
        {
            // One JSON object per line; a [LoggerMessage] line's named values become fields of its "State".
            logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
            });
        }

        return logging;
    }
}
