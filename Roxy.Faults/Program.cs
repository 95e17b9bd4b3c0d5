using Roxy.Faults;

// The fault drill: dotnet Roxy.Faults/bin/Release/net10.0/Roxy.Faults.dll [--short] (scripts/faults.sh builds, then runs it).
// Exit 0: every "Done when" criterion of issue 13 holds; 1: one failed (printed with its numbers); 2: the drill itself failed.
var isShort = args is ["--short"];
if (args.Length > 0 && !isShort)
{
    Console.Error.WriteLine("usage: Roxy.Faults [--short]");
    return 2;
}

try
{
    var report = await Drill.RunAsync(DrillOptions.FromBaseDirectory(AppContext.BaseDirectory, isShort), Console.Out);
    Console.WriteLine();
    Console.WriteLine(report.Render());
    return report.Problems.Count == 0 ? 0 : 1;
}
catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException)
{
    Console.Error.WriteLine("fault drill failed: " + e.Message);
    return 2;
}
