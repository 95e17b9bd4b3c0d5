namespace Roxy.Api.Apis.Admin;

/// <summary>The last changes, newest first.</summary>
public sealed record AuditList(IReadOnlyList<AuditView> Data)
{
    public static AuditList Example { get; } = new([AuditView.Example]);
}
