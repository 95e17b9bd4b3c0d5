namespace Roxy.Grains.Rotation;

/// <summary>Rate windows saved periodically and on deactivation so a restart or a crash does not let keys burst past their limits.</summary>
[GenerateSerializer]
public sealed class RotationState
{
    [Id(0)] public Dictionary<string, KeyWindowSnapshot> Windows { get; set; } = new(StringComparer.Ordinal);
    [Id(1)] public long SavedAtTicks { get; set; }

    /// <summary>Written on deactivation: nothing was granted after it, so a restore charges nothing.</summary>
    [Id(2)] public bool Final { get; set; }
}
