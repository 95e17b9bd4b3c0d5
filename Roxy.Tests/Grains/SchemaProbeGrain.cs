namespace Roxy.Tests.Grains;

// Test-only grain: proves the ADO.NET storage queries round-trip state through PostgreSQL.
public interface ISchemaProbeGrain : IGrainWithStringKey
{
    Task SetAsync(string value);
    Task<SchemaProbeState> GetAsync();
}

[GenerateSerializer]
public sealed class SchemaProbeState
{
    [Id(0)] public string? Value { get; set; }
    [Id(1)] public int Writes { get; set; }
}

public sealed class SchemaProbeGrain(
    [PersistentState("probe", "roxy")] IPersistentState<SchemaProbeState> state) : Grain, ISchemaProbeGrain
{
    public async Task SetAsync(string value)
    {
        state.State.Value = value;
        state.State.Writes++;
        await state.WriteStateAsync();
    }

    public Task<SchemaProbeState> GetAsync() => Task.FromResult(state.State);
}
