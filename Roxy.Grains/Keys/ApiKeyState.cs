namespace Roxy.Grains.Keys;

[GenerateSerializer]
public sealed class ApiKeyState
{
    [Id(0)] public string? TenantId { get; set; }
    [Id(1)] public string? KeyId { get; set; }
}
