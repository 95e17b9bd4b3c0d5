namespace Roxy.Grains.Budgets;

/// <summary>Which of a budget's two windows a refusal is about.</summary>
[GenerateSerializer]
public enum BudgetWindow
{
    Daily = 0,
    Monthly = 1,
}
