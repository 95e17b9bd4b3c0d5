namespace Roxy.Api.Apis.Admin;

/// <summary>A key's limits: requests and tokens per minute, and the cooldown after a 429 in seconds.</summary>
public sealed record KeyLimits(long MaxRpm, long MaxTpm, int CooldownSec);
