namespace Roxy.Grains.Rotation;

/// <summary>A key the provider refused; the rotation grain asks the tenant grain to persist it.</summary>
internal sealed record KeyDisabled(string KeyId, string Reason);
