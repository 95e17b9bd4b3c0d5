namespace Roxy.Faults.Faults;

/// <summary>One fault: injects it, records when it ends (<see cref="FaultWindow.Ends"/>), and says what "ends" means.</summary>
public interface IFault
{
    string Name { get; }

    /// <summary>When this fault counts as ended, for the report's definitions.</summary>
    string Ends { get; }

    Task RunAsync(FaultContext context, FaultWindow window);
}
