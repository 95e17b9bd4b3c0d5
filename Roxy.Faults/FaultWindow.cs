namespace Roxy.Faults;

/// <summary>
/// One fault as it happened, in drill seconds: when it was injected, when it ended (a fault may end more than once:
/// a kill and the restart, each silo of a rolling restart, each upstream misbehaviour), when its row closes (the next
/// fault begins after it), and what the checks after it found.
/// </summary>
public sealed class FaultWindow(string name)
{
    public string Name { get; } = name;

    public double Start { get; set; }

    /// <summary>The moments the fault ended; recovery is measured from each and the worst reported.</summary>
    public List<double> Ends { get; } = [];

    public double Stop { get; set; }

    /// <summary>While PostgreSQL was stopped: from the stop command to PostgreSQL accepting connections again.</summary>
    public (double From, double To)? PostgresAway { get; set; }

    /// <summary>Each frontend's /readyz answers while PostgreSQL was away: "200 degraded", "503 unready", …</summary>
    public List<string> Readiness { get; } = [];

    /// <summary>What the inventory check found missing or unusable after the fault.</summary>
    public IReadOnlyList<string> Lost { get; set; } = [];

    /// <summary>Whether tenant budget still carries its budget after the fault (null: it does).</summary>
    public string? BudgetSetting { get; set; }

    public List<string> Notes { get; } = [];
}
