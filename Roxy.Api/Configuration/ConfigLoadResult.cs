namespace Roxy.Api.Configuration;

/// <summary>
/// Outcome of <see cref="ConfigLoader.Load"/>: <see cref="Config"/> is set only when <see cref="Errors"/> is empty.
/// Each error is one line: <c>file:line:col: field.path: what is wrong; what is allowed</c>.
/// </summary>
public sealed record ConfigLoadResult(
    ResolvedConfig? Config,
    IReadOnlyList<string> Errors,
    IReadOnlyList<string> Warnings)
{
    public bool Succeeded => Config is not null && Errors.Count == 0;
}
