namespace Roxy.Faults;

/// <summary>
/// One line of the drill's table. <see cref="RecoverySeconds"/> is the worst over the fault's ends (null: never
/// recovered); <see cref="WorstKey"/> is the key whose busiest 60 s window (from the fake upstream's own arrival
/// counts, any outcome) came nearest its limit, <see cref="OverLimit"/> every key that went past it.
/// <see cref="PostgresErrors"/>: failed answers (5xx, none at all, or a stream cut after its 200) to warm tenants'
/// requests sent while PostgreSQL was away (null: PostgreSQL was not stopped in this row).
/// </summary>
public sealed record FaultRow(
    string Name,
    int Sent,
    IReadOnlyList<(string Label, int Count)> Answers,
    int Failures,
    (int Count, double Seconds) LongestFailureRun,
    double? RecoverySeconds,
    (string Key, int Count, int Limit) WorstKey,
    IReadOnlyList<string> OverLimit,
    IReadOnlyList<string> Lost,
    string? BudgetProblem,
    int? PostgresErrors,
    IReadOnlyList<string> Notes);
