namespace Roxy.Api.Routing;

/// <summary>One concrete place to send a request: a provider and the model name it knows.</summary>
public readonly record struct RouteTarget(string Provider, string Model)
{
    /// <summary>How the target is written in config and listings: <c>provider:model</c>.</summary>
    public override string ToString() => string.Concat(Provider, ":", Model);
}
