using System.Text;

namespace Roxy.Api.Configuration;

/// <summary>PascalCase property names to the snake_case used in YAML (<c>MaxRpm</c> → <c>max_rpm</c>).</summary>
internal static class SnakeCase
{
    public static string From(string pascal)
    {
        var builder = new StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            var c = pascal[i];
            if (char.IsUpper(c))
            {
                if (i > 0)
                {
                    builder.Append('_');
                }

                builder.Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
