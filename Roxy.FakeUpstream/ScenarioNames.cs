using System.Text;

namespace Roxy.FakeUpstream;

/// <summary>A scenario's name in a model id: <c>ParallelTools</c> is <c>parallel-tools</c>.</summary>
internal static class ScenarioNames
{
    public static string Kebab<TScenario>(TScenario scenario)
        where TScenario : struct, Enum
    {
        var name = scenario.ToString();
        var builder = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                builder.Append('-');
            }

            builder.Append(char.ToLowerInvariant(name[i]));
        }

        return builder.ToString();
    }

    /// <summary>The scenario named <paramref name="name"/> (kebab case), or <paramref name="fallback"/>.</summary>
    public static TScenario Parse<TScenario>(string name, TScenario fallback)
        where TScenario : struct, Enum
    {
        foreach (var scenario in Enum.GetValues<TScenario>())
        {
            if (Kebab(scenario) == name)
            {
                return scenario;
            }
        }

        return fallback;
    }
}
