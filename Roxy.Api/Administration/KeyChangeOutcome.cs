namespace Roxy.Api.Administration;

public enum KeyChangeOutcomeStatus
{
    Done,
    NotFound,

    /// <summary>The key comes from the configuration or the environment: remove it there, or disable it.</summary>
    ConfigOwned,

    /// <summary>The tenant does not exist (any more): deleted while the request was on its way.</summary>
    TenantNotFound,
}

/// <summary>What removing, enabling or disabling a key did; <see cref="Row"/> is the key as listed (after the change).</summary>
public sealed record KeyChangeOutcome(KeyChangeOutcomeStatus Status, KeyRow? Row);
