namespace Roxy.Grains.Rotation;

/// <summary>
/// The keys that may serve now (in rotation, not cooling, not out of the provider's remaining requests), least utilized
/// first; ties go to the key granted longest ago, which is round-robin among equals.
/// </summary>
internal sealed class ReadyKeys : KeyHeap
{
    protected override ref int Place(KeyRuntime k) => ref k.ReadyPlace;

    protected override bool Less(KeyRuntime a, KeyRuntime b) => KeyRuntime.Before(a, b);
}
