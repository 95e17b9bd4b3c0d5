using Roxy.Api.Hosting;

namespace Roxy.Api.Budgets;

/// <summary>
/// Every quarter second, renews the budget credits this frontend holds with the spend their requests settled, and
/// hands back the idle ones; at shutdown, hands back all of them, so their holds return to the budget at once instead
/// of at <see cref="Roxy.Grains.Budgets.BudgetLedger.CreditLifetime"/>.
/// </summary>
public sealed class BudgetCreditFlusher(BudgetGate budgets, TimeProvider time) : PeriodicFlusher(Period, time)
{
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(250);

    protected override Task FlushOnceAsync(bool final)
    {
        List<Task>? calls = null;
        foreach (var line in budgets.Lines)
        {
            var call = line.FlushAsync(final);
            if (!call.IsCompleted)
            {
                (calls ??= []).Add(call);
            }
        }

        return calls is null ? Task.CompletedTask : Task.WhenAll(calls);
    }
}
