namespace Roxy.Grains.Rotation;

/// <summary>Rate windows saved on deactivation so a restart does not let keys burst past their limits.</summary>
[GenerateSerializer]
public sealed class RotationState
{
    [Id(0)] public Dictionary<string, KeyWindowSnapshot> Windows { get; set; } = new(StringComparer.Ordinal);
    [Id(1)] public long SavedAtTicks { get; set; }
}
