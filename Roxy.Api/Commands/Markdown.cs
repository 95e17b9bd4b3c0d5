namespace Roxy.Api.Commands;

/// <summary>Model names are printable ASCII, so they may hold a backtick or a '|': quoted so neither breaks a reply.</summary>
internal static class Markdown
{
    public static string Code(string text)
    {
        var cell = text.Replace("|", "\\|", StringComparison.Ordinal);
        return cell.Contains('`', StringComparison.Ordinal) ? $"`` {cell} ``" : $"`{cell}`";
    }
}
