namespace Roxy.Grains.Tenancy;

[GenerateSerializer]
public enum TenantRole
{
    Member = 0,
    Admin = 1,
}
