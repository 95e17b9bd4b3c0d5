namespace Roxy.Grains.Rotation;

/// <summary>The keys by the next moment their order or their readiness changes by itself (<see cref="KeyRuntime.NextChangeTicks"/>).</summary>
internal sealed class KeyChanges : KeyHeap
{
    protected override ref int Place(KeyRuntime k) => ref k.ChangePlace;

    protected override bool Less(KeyRuntime a, KeyRuntime b) => a.NextChangeTicks < b.NextChangeTicks;
}
