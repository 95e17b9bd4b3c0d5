namespace Roxy.Grains.Budgets;

/// <summary>
/// The answer to a reservation: granted with a lease to settle, or refused with the window that would be crossed,
/// its limit, what is spent and held in it, and when it resets (UTC midnight, or the first of the month).
/// </summary>
[GenerateSerializer, Immutable, Alias("roxy.BudgetReservation")]
public sealed record BudgetReservation(
    [property: Id(0)] bool Granted,
    [property: Id(1)] long LeaseId,
    [property: Id(2)] BudgetWindow Window,
    [property: Id(3)] decimal LimitUsd,
    [property: Id(4)] decimal SpentUsd,
    [property: Id(5)] DateTimeOffset ResetsAt);
