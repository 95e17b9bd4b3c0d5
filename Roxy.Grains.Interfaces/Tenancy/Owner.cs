namespace Roxy.Grains.Tenancy;

/// <summary>Who may change an item: config-owned items follow the YAML, runtime-owned ones never do.</summary>
[GenerateSerializer]
public enum Owner
{
    Config = 0,
    Runtime = 1,
}
