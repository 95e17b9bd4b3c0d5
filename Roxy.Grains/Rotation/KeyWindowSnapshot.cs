namespace Roxy.Grains.Rotation;

[GenerateSerializer]
public sealed class KeyWindowSnapshot
{
    [Id(0)] public WindowEntry[] Requests { get; set; } = [];
    [Id(1)] public WindowEntry[] Tokens { get; set; } = [];
    [Id(2)] public long CoolingUntilTicks { get; set; }
}
