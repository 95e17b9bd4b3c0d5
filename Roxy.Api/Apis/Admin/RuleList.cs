namespace Roxy.Api.Apis.Admin;

/// <summary>The tenant's rules; <c>allow_unlisted</c>: whether models no rule names may still be asked for.</summary>
public sealed record RuleList(IReadOnlyList<RuleView> Data, bool AllowUnlisted)
{
    public static RuleList Example { get; } = new([RuleView.Example], true);
}
