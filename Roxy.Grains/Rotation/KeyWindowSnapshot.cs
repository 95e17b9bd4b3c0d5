namespace Roxy.Grains.Rotation;

[GenerateSerializer]
public sealed class KeyWindowSnapshot
{
    [Id(0)] public WindowEntry[] Requests { get; set; } = [];
    [Id(1)] public WindowEntry[] Tokens { get; set; } = [];
    [Id(2)] public long CoolingUntilTicks { get; set; }

    // What the activation that wrote this may grant before its next snapshot: a restore after a crash charges it.
    [Id(3)] public long UnsavedRequests { get; set; }
    [Id(4)] public long UnsavedTokens { get; set; }
}
