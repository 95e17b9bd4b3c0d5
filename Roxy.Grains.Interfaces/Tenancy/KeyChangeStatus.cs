namespace Roxy.Grains.Tenancy;

[GenerateSerializer]
public enum KeyChangeStatus
{
    Done = 0,
    NotFound = 1,

    /// <summary>The same secret is already a key of this tenant.</summary>
    AlreadyPresent = 2,

    /// <summary>The secret belongs to another tenant: one provider quota never gets two limiters.</summary>
    HeldByAnotherTenant = 3,

    /// <summary>Config-owned keys follow the YAML: they can be disabled at run time, not removed.</summary>
    ConfigOwned = 4,

    /// <summary>The tenant does not exist (never created, or deleted).</summary>
    TenantNotFound = 5,
}
