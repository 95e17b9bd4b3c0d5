using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Roxy.Api.Configuration;

/// <summary>
/// Binds a YAML representation tree onto the config classes by reflection (snake_case names), checking
/// <see cref="OneOfAttribute"/>, <see cref="RangeRuleAttribute"/> and <see cref="RequiredFieldAttribute"/>.
/// It never stops at the first problem: every unknown field, wrong type and bad value is reported to
/// <see cref="ConfigDiagnostics"/>, and the offending field keeps its default.
/// </summary>
internal sealed class YamlBinder(ConfigDiagnostics diagnostics)
{
    private static readonly ConcurrentDictionary<Type, IReadOnlyDictionary<string, PropertyInfo>> PropertyCache = new();
    private readonly NullabilityInfoContext _nullability = new();

    /// <summary>Binds every entry of <paramref name="node"/> onto <paramref name="target"/>.</summary>
    public void BindObject(YamlMappingNode node, object target, string path)
    {
        var properties = PropertiesOf(target.GetType());
        var seen = new HashSet<string>(StringComparer.Ordinal);

        foreach (var (keyNode, valueNode) in node.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } name })
            {
                diagnostics.ErrorAt(Locate(keyNode), path, "field names must be plain words");
                continue;
            }

            var fieldPath = Join(path, name);
            if (!properties.TryGetValue(name, out var property))
            {
                diagnostics.ErrorAt(Locate(keyNode), fieldPath,
                    $"unknown field; allowed here: {string.Join(", ", properties.Keys)}");
                continue;
            }

            seen.Add(name);
            var location = Locate(valueNode);
            diagnostics.SetLocation(fieldPath, location);
            if (TryBind(valueNode, property.PropertyType, IsNullable(property), fieldPath, location, property, out var value))
            {
                property.SetValue(target, value);
            }
        }

        foreach (var (name, property) in properties)
        {
            if (property.GetCustomAttribute<RequiredFieldAttribute>() is not { } required)
            {
                continue;
            }

            var fieldPath = Join(path, name);
            if (!seen.Contains(name))
            {
                diagnostics.ErrorAt(Locate(node), fieldPath, $"is required; {required.Hint}");
            }
            else if (property.GetValue(target) is null or "" || property.GetValue(target) is string s && string.IsNullOrWhiteSpace(s))
            {
                diagnostics.Error(fieldPath, $"must not be empty; {required.Hint}");
            }
        }
    }

    /// <summary>Sets one scalar property from a raw string (an environment override), with the same checks as YAML.</summary>
    public void BindOverride(object target, string propertyName, string raw, string path, string location)
    {
        var property = PropertiesOf(target.GetType())[NameOf(propertyName)];
        var node = new YamlScalarNode(raw) { Style = ScalarStyle.DoubleQuoted };
        if (TryBind(node, property.PropertyType, IsNullable(property), path, location, property, out var value))
        {
            property.SetValue(target, value);
            diagnostics.SetLocation(path, location);
        }
    }

    public static string NameOf(string propertyName) => SnakeCase.From(propertyName);

    private bool TryBind(YamlNode node, Type type, bool nullable, string path, string location, PropertyInfo? property, out object? value)
    {
        value = null;
        var underlying = Nullable.GetUnderlyingType(type);
        nullable |= underlying is not null;
        type = underlying ?? type;

        if (IsNull(node))
        {
            if (nullable)
            {
                return true;
            }

            if (type == typeof(string))
            {
                value = "";
                return true;
            }

            if (!IsScalarType(type))
            {
                // An empty section (`cache:` with nothing under it) means "all defaults".
                value = Activator.CreateInstance(type);
                return true;
            }

            diagnostics.ErrorAt(location, path, $"must be {Expectation(type, property)}, got nothing");
            return false;
        }

        if (IsScalarType(type))
        {
            if (node is not YamlScalarNode scalar)
            {
                diagnostics.ErrorAt(location, path, $"must be {Expectation(type, property)}, got {Describe(node)}");
                return false;
            }

            if (!TryConvertScalar(scalar.Value ?? "", type, out value))
            {
                diagnostics.ErrorAt(location, path, $"must be {Expectation(type, property)}, got {SecretLookalike.Quote(scalar.Value ?? "")}");
                return false;
            }

            return CheckRules(property, value, scalar.Value ?? "", path, location);
        }

        if (DictionaryValueType(type) is { } valueType)
        {
            if (node is not YamlMappingNode mapping)
            {
                diagnostics.ErrorAt(location, path, $"must be a mapping of name: value, got {Describe(node)}");
                return false;
            }

            var dictionary = (IDictionary)Activator.CreateInstance(type)!;
            foreach (var (keyNode, valueNode) in mapping.Children)
            {
                if (keyNode is not YamlScalarNode { Value: { Length: > 0 } key })
                {
                    diagnostics.ErrorAt(Locate(keyNode), path, "names must be plain words");
                    continue;
                }

                var entryPath = Join(path, key);
                var entryLocation = Locate(valueNode);
                diagnostics.SetLocation(entryPath, entryLocation);
                if (TryBind(valueNode, valueType, nullable: false, entryPath, entryLocation, null, out var entry))
                {
                    dictionary[key] = entry;
                }
            }

            value = dictionary;
            return true;
        }

        if (ListItemType(type) is { } itemType)
        {
            if (node is not YamlSequenceNode sequence)
            {
                diagnostics.ErrorAt(location, path, $"must be a list, got {Describe(node)}");
                return false;
            }

            var list = (IList)Activator.CreateInstance(type)!;
            var index = 0;
            foreach (var itemNode in sequence.Children)
            {
                var itemPath = $"{path}[{index++}]";
                var itemLocation = Locate(itemNode);
                diagnostics.SetLocation(itemPath, itemLocation);
                if (TryBind(itemNode, itemType, nullable: false, itemPath, itemLocation, null, out var item) && item is not null)
                {
                    list.Add(item);
                }
                else if (item is null && IsNull(itemNode))
                {
                    diagnostics.ErrorAt(itemLocation, itemPath, "list entries must not be empty");
                }
            }

            value = list;
            return true;
        }

        if (node is not YamlMappingNode objectNode)
        {
            diagnostics.ErrorAt(location, path,
                $"must be a mapping with fields {string.Join(", ", PropertiesOf(type).Keys)}, got {Describe(node)}");
            return false;
        }

        value = Activator.CreateInstance(type)!;
        BindObject(objectNode, value, path);
        return true;
    }

    private bool CheckRules(PropertyInfo? property, object? value, string raw, string path, string location)
    {
        if (property is null || value is null)
        {
            return true;
        }

        if (property.GetCustomAttribute<OneOfAttribute>() is { } oneOf && value is string text && !oneOf.Values.Contains(text))
        {
            diagnostics.ErrorAt(location, path, $"{SecretLookalike.Quote(text)} is not one of {string.Join(", ", oneOf.Values)}");
            return false;
        }

        if (property.GetCustomAttribute<RangeRuleAttribute>() is { } range
            && value is int or long or double
            && !range.Allows(Convert.ToDouble(value, CultureInfo.InvariantCulture)))
        {
            diagnostics.ErrorAt(location, path, $"must be {range.Describe()}, got '{raw}'");
            return false;
        }

        return true;
    }

    private static bool TryConvertScalar(string raw, Type type, out object? value)
    {
        value = null;
        var text = raw.Trim();
        if (type == typeof(string))
        {
            value = raw;
            return true;
        }

        if (type == typeof(int) && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i))
        {
            value = i;
            return true;
        }

        if (type == typeof(long) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            value = l;
            return true;
        }

        if (type == typeof(double)
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            && double.IsFinite(d))
        {
            value = d;
            return true;
        }

        if (type == typeof(bool) && text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            value = text is "true" or "True" or "TRUE";
            return true;
        }

        return false;
    }

    private static string Expectation(Type type, PropertyInfo? property)
    {
        if (property?.GetCustomAttribute<RangeRuleAttribute>() is { } range)
        {
            return range.Describe();
        }

        if (property?.GetCustomAttribute<OneOfAttribute>() is { } oneOf)
        {
            return $"one of {string.Join(", ", oneOf.Values)}";
        }

        return type == typeof(int) || type == typeof(long) ? "an integer"
            : type == typeof(double) ? "a number"
            : type == typeof(bool) ? "true or false"
            : "a string";
    }

    private static bool IsScalarType(Type type) =>
        type == typeof(string) || type == typeof(int) || type == typeof(long) || type == typeof(double) || type == typeof(bool);

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } scalar
        && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL";

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode scalar => SecretLookalike.Quote(scalar.Value ?? ""),
        _ => "something else",
    };

    private static Type? DictionaryValueType(Type type) =>
        type.IsGenericType
        && type.GetGenericArguments() is [var key, var value]
        && key == typeof(string)
        && typeof(IDictionary<,>).MakeGenericType(key, value).IsAssignableFrom(type)
            ? value
            : null;

    private static Type? ListItemType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>) ? type.GetGenericArguments()[0] : null;

    private bool IsNullable(PropertyInfo property) =>
        Nullable.GetUnderlyingType(property.PropertyType) is not null
        || _nullability.Create(property).WriteState == NullabilityState.Nullable;

    private string Locate(YamlNode node) => diagnostics.FileLocation((int)node.Start.Line, (int)node.Start.Column);

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private static IReadOnlyDictionary<string, PropertyInfo> PropertiesOf(Type type) =>
        PropertyCache.GetOrAdd(type, static t => t
            .GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite)
            .ToDictionary(p => NameOf(p.Name), StringComparer.Ordinal));
}
