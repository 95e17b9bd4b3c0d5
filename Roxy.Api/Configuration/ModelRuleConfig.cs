namespace Roxy.Api.Configuration;

/// <summary>A model substitution: requests for <see cref="SourceModel"/> go to one of <see cref="TargetModels"/>.</summary>
public sealed class ModelRuleConfig
{
    [RequiredField("name the model clients ask for, e.g. gpt-4")]
    public string SourceModel { get; set; } = "";

    public List<string> TargetModels { get; set; } = [];

    [OneOf("random", "roundrobin", "fallback")]
    public string SelectionPolicy { get; set; } = "fallback";

    public bool FailoverOnContextLength { get; set; }
}
