namespace Roxy.Api.Hosting;

/// <summary>Start-up refused: one line per problem, printed as they are.</summary>
public sealed class RoxyStartupException(IReadOnlyList<string> problems)
    : Exception(string.Join(Environment.NewLine, problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
