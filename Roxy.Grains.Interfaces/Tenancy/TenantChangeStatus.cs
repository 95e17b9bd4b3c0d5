namespace Roxy.Grains.Tenancy;

/// <summary>The outcome of creating or deleting a tenant, or of setting its budget.</summary>
[GenerateSerializer]
public enum TenantChangeStatus
{
    Done = 0,
    NotFound = 1,

    /// <summary>The tenant (or its budget) comes from the YAML: change it there.</summary>
    ConfigOwned = 2,

    /// <summary>A tenant with this id exists already.</summary>
    AlreadyExists = 3,
}
