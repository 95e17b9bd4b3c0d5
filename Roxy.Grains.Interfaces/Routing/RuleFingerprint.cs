using System.Security.Cryptography;
using System.Text;

namespace Roxy.Grains.Routing;

/// <summary>
/// What a rule decides, as a short hash: part of every prompt cache key made under the rule, so that any change to it
/// (a target, the policy, failover on context length) makes the rule's entries unreachable at once.
/// </summary>
public static class RuleFingerprint
{
    public static string Of(ModelRule rule)
    {
        var text = new StringBuilder("rule\n").Append(rule.SourceModel).Append('\n').Append((int)rule.Policy).Append('\n')
            .Append(rule.FailoverOnContextLength ? '1' : '0');
        foreach (var target in rule.Targets)
        {
            text.Append('\n').Append(target.Provider).Append(':').Append(target.Model);
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())).AsSpan(0, 12));
    }

    /// <summary>A model no rule names: sent as it is to the provider it was inferred for.</summary>
    public static string Unlisted(string provider, string model) => string.Concat("unlisted:", provider, ":", model);
}
