namespace Roxy.Grains.Tenancy;

[GenerateSerializer]
public enum TokenChangeStatus
{
    Done = 0,
    NotFound = 1,

    /// <summary>A config token: it follows the YAML and cannot be revoked at run time.</summary>
    ConfigOwned = 2,

    /// <summary>A token with this id or hash exists already.</summary>
    AlreadyPresent = 3,

    /// <summary>The tenant does not exist (never created, or deleted).</summary>
    TenantNotFound = 4,
}
