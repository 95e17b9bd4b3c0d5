namespace Roxy.Grains.Routing;

[GenerateSerializer]
public enum SelectionPolicy
{
    Fallback = 0,
    RoundRobin = 1,
    Random = 2,
}
