namespace Roxy.Faults;

/// <summary>A cluster.sh run: exit code and everything it printed.</summary>
public sealed record ScriptResult(int Exit, string Output);
