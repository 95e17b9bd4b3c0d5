namespace Roxy.Grains.Rotation;

/// <summary>One persisted window entry (UTC ticks, amount), written only when the rotation grain deactivates.</summary>
[GenerateSerializer, Immutable, Alias("roxy.WindowEntry")]
public readonly record struct WindowEntry([property: Id(0)] long Ticks, [property: Id(1)] long Amount);
