using System.Text.Json;
using Roxy.Api.Errors;
using Roxy.Grains.Budgets;

namespace Roxy.Api.Apis.Admin;

/// <summary>
/// Reads the small JSON bodies of the tenant and token routes strictly: no body, bad JSON, an unknown field or a wrong
/// type is a 400 naming the field, never a 500 from a binder.
/// </summary>
public static class TenantRequestBody
{
    /// <summary>These bodies are a few fields; anything larger is not one of them.</summary>
    public const int MaxBytes = 64 * 1024;

    public static async Task<(JsonElement Body, ProxyError? Error)> ReadObjectAsync(HttpRequest request, IReadOnlyCollection<string> allowed)
    {
        if (request.ContentLength > MaxBytes)
        {
            return (default, ProxyError.BodyTooLarge(MaxBytes));
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                return (default, ProxyError.BodyTooLarge(MaxBytes));
            }

            buffer.Write(chunk, 0, read);
        }

        if (buffer.Length == 0)
        {
            return (default, ProxyError.InvalidRequest("The request body is empty; send a JSON object.", null));
        }

        JsonElement body;
        try
        {
            using var document = JsonDocument.Parse(buffer.ToArray());
            body = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return (default, ProxyError.BodyNotJsonAt(ex));
        }

        if (body.ValueKind != JsonValueKind.Object)
        {
            return (default, ProxyError.BodyNotAnObject);
        }

        return (body, Unknown(body, allowed, ""));
    }

    /// <summary>A string field: absent or null is null; any other type is an error.</summary>
    public static ProxyError? String(JsonElement body, string name, out string? value)
    {
        value = null;
        if (!body.TryGetProperty(name, out var field) || field.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (field.ValueKind != JsonValueKind.String)
        {
            return ProxyError.InvalidRequest($"'{name}' must be a string.", name);
        }

        value = field.GetString();
        return null;
    }

    /// <summary>
    /// A budget object (<c>daily_usd</c>, <c>monthly_usd</c>, each a number of USD >= 0 or null), at <paramref name="path"/>
    /// for the error's param (empty when the budget is the whole body). Null or an empty object is no budget.
    /// </summary>
    public static ProxyError? Budget(JsonElement budget, string path, out BudgetLimits? limits)
    {
        limits = null;
        if (budget.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (budget.ValueKind != JsonValueKind.Object)
        {
            return ProxyError.InvalidRequest($"'{(path.Length == 0 ? "body" : path)}' must be an object with daily_usd and/or monthly_usd.", path.Length == 0 ? null : path);
        }

        if (Unknown(budget, BudgetFields, path) is { } unknown)
        {
            return unknown;
        }

        var daily = Usd(budget, "daily_usd", path, out var dailyUsd);
        var monthly = Usd(budget, "monthly_usd", path, out var monthlyUsd);
        if ((daily ?? monthly) is { } error)
        {
            return error;
        }

        limits = dailyUsd is null && monthlyUsd is null ? null : new BudgetLimits(dailyUsd, monthlyUsd);
        return null;
    }

    public static readonly string[] BudgetFields = ["daily_usd", "monthly_usd"];

    private static ProxyError? Usd(JsonElement budget, string name, string path, out decimal? value)
    {
        value = null;
        var param = path.Length == 0 ? name : path + "." + name;
        if (!budget.TryGetProperty(name, out var field) || field.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (field.ValueKind != JsonValueKind.Number || !field.TryGetDecimal(out var usd))
        {
            return ProxyError.InvalidRequest($"'{param}' must be a number of USD (or null for no limit).", param);
        }

        if (usd < 0)
        {
            return ProxyError.InvalidRequest($"'{param}' must be 0 or more; null removes the limit.", param);
        }

        value = usd;
        return null;
    }

    private static ProxyError? Unknown(JsonElement body, IReadOnlyCollection<string> allowed, string path)
    {
        foreach (var property in body.EnumerateObject())
        {
            if (!allowed.Contains(property.Name))
            {
                var name = property.Name.Length > 64 ? property.Name[..64] + "…" : property.Name;
                var param = path.Length == 0 ? name : path + "." + name;
                return ProxyError.InvalidRequest($"Unknown field '{param}'; expected {string.Join(", ", allowed)}.", param);
            }
        }

        return null;
    }
}
