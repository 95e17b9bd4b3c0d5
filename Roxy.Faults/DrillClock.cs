using System.Diagnostics;

namespace Roxy.Faults;

/// <summary>
/// One clock for everything the drill records: seconds since the drill began, and the raw timestamps the fake upstream
/// stamps arrivals with (<see cref="TimeProvider.System"/> is the <see cref="Stopwatch"/>), so the two can be compared.
/// </summary>
public sealed class DrillClock
{
    private readonly long _origin = Stopwatch.GetTimestamp();

    /// <summary>Seconds since the drill began.</summary>
    public double Now => Stopwatch.GetElapsedTime(_origin).TotalSeconds;

    /// <summary>The fake upstream's timestamp of a moment given in drill seconds.</summary>
    public long TimestampAt(double seconds) => _origin + (long)(seconds * Stopwatch.Frequency);
}
