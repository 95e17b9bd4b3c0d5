namespace Roxy.Faults;

/// <summary>What the drill runs and where.</summary>
public sealed record DrillOptions
{
    /// <summary>CI's version: one silo kill and a 10 s PostgreSQL stop. Otherwise all five faults, PostgreSQL away 30 s.</summary>
    public bool Short { get; init; }

    /// <summary>The repository (scripts/cluster.sh and the built dlls live there).</summary>
    public required string RepoRoot { get; init; }

    /// <summary>Which build's dlls the cluster runs (bin/CONFIGURATION); the drill never builds.</summary>
    public string Configuration { get; init; } = "Release";

    /// <summary>How long PostgreSQL stays stopped.</summary>
    public TimeSpan PostgresOutage => Short ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(30);

    /// <summary>Traffic before the first fault, so every tenant's grains are warm and windows are filling.</summary>
    public TimeSpan WarmUp => Short ? TimeSpan.FromSeconds(8) : TimeSpan.FromSeconds(15);

    /// <summary>Traffic after a fault's last end before the next fault: longer than the 10 s recovery bound plus a steady run.</summary>
    public TimeSpan Settle => Short ? TimeSpan.FromSeconds(13) : TimeSpan.FromSeconds(15);

    /// <summary>
    /// Finds the repository upwards from <paramref name="start"/> (the directory holding Roxy.sln) and the build
    /// configuration from a bin/CONFIGURATION/TFM path (Roxy.Faults' own or Roxy.Tests').
    /// </summary>
    public static DrillOptions FromBaseDirectory(string start, bool isShort)
    {
        var dir = new DirectoryInfo(start);
        var configuration = dir.Parent is { Parent.Name: "bin" } binDir ? binDir.Name : "Release";
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Roxy.sln")))
        {
            dir = dir.Parent;
        }

        if (dir is null)
        {
            throw new InvalidOperationException($"no Roxy.sln above {start}: run the drill from the repository's build output");
        }

        return new DrillOptions { Short = isShort, RepoRoot = dir.FullName, Configuration = configuration };
    }
}
