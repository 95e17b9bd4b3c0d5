namespace Roxy.Grains.Budgets;

/// <summary>
/// A frontend's one call for its credit on a budget (see <see cref="IBudgetGrain.RenewCreditAsync"/>): what its requests
/// spent from the credit, what it still has drawn, and how large a credit it would like.
/// </summary>
/// <param name="CreditId">Chosen by the frontend (random), so a credit the grain lost (a move) is simply made anew.</param>
/// <param name="Limits">The budget as the frontend's tenant snapshot has it now: a lowered limit shrinks the credit.</param>
/// <param name="SpentUsd">
/// Everything the credit's requests cost since it was created, cumulative: a renewal given up on and sent again (or
/// superseded) is counted once, since the grain applies only what exceeds what it already applied.
/// </param>
/// <param name="AckedSpentUsd">What the last answer the frontend received said was applied: what a grain that lost the credit may count.</param>
/// <param name="InFlightUsd">The worst cases of requests drawn from the credit and not yet ended: the credit never shrinks below this.</param>
/// <param name="KeepUsd">
/// How much of the credit, once the spend is applied, the frontend may draw on while this call is in flight: the grain
/// keeps at least this unless a limit is crossed (then only <paramref name="InFlightUsd"/>).
/// </param>
/// <param name="RequestUsd">A typical request's worst case here: credits are sized in multiples of it.</param>
/// <param name="Release">Hand the whole credit back (idle, or shutting down) after applying the spend.</param>
[GenerateSerializer, Immutable, Alias("roxy.BudgetCreditRenewal")]
public sealed record BudgetCreditRenewal(
    [property: Id(0)] long CreditId,
    [property: Id(1)] BudgetLimits Limits,
    [property: Id(2)] decimal SpentUsd,
    [property: Id(3)] decimal AckedSpentUsd,
    [property: Id(4)] decimal InFlightUsd,
    [property: Id(5)] decimal KeepUsd,
    [property: Id(6)] decimal RequestUsd,
    [property: Id(7)] bool Release);
