using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Roxy.Faults;

/// <summary>
/// What an admin adds before the faults, by chat and by the admin REST API, and the check after every fault that all of
/// it is still there and usable: two keys and two rules of tenant globex (one each by <c>#roxy</c>, one each by the
/// API), a member token issued by the API, two prompt cache entries of tenant acme (one stored from a JSON answer on
/// frontend 1, one from a stream on frontend 2) and tenant budget's daily budget, set by the operator.
/// </summary>
public sealed class Inventory(DrillSetup setup, RoxyClient client, Func<int, Uri> api)
{
    private const string CacheProbeJson = "fault drill cache probe: stored from a JSON answer";
    private const string CacheProbeStream = "fault drill cache probe: stored from a stream";

    private static readonly string[] RuleTargets = ["openai:gpt-4o-mini"];

    private string _issuedTokenId = "";

    /// <summary>The member token issued by the API (tenant globex); a traffic lane uses it.</summary>
    public string IssuedToken { get; private set; } = "";

    /// <summary>Adds everything; throws if Roxy refuses any of it (the drill cannot start without it).</summary>
    public async Task SeedAsync()
    {
        var globex = setup.Tokens["globex"];
        await Expect(client.CommandAsync(api(1), globex, $"#roxy add key openai {setup.ChatKey.Secret} rpm={setup.ChatKey.MaxRpm} tpm=10000000 cooldown=1"),
            setup.ChatKey.Mask, "#roxy add key");
        await Expect(client.CommandAsync(api(1), globex, $"#roxy add model {DrillSetup.ChatRule} openai:gpt-4o-mini"), DrillSetup.ChatRule, "#roxy add model");

        var key = Json(new { provider = "openai", key = setup.ApiKey.Secret, max_rpm = setup.ApiKey.MaxRpm, max_tpm = 10_000_000, cooldown_sec = 1 });
        Created(await client.SendAsync(HttpMethod.Post, api(2), "admin/tenants/globex/keys", globex, key), "POST keys");
        var rule = Json(new { targets = RuleTargets, policy = "fallback" });
        Created(await client.SendAsync(HttpMethod.Put, api(2), "admin/tenants/globex/rules/" + DrillSetup.ApiRule, globex, rule), "PUT rules");
        var issued = JsonNode.Parse(Created(await client.SendAsync(HttpMethod.Post, api(2), "admin/tenants/globex/tokens", globex, Json(new { role = "member", name = "fault-drill" })), "POST tokens"))!;
        IssuedToken = issued["token"]!.GetValue<string>();
        _issuedTokenId = issued["id"]!.GetValue<string>();

        var budget = Json(new { daily_usd = DrillSetup.BudgetUsd });
        Created(await client.SendAsync(HttpMethod.Put, api(1), "admin/tenants/budget/budget", setup.OperatorToken, budget), "PUT budget");

        foreach (var (frontend, prompt, stream) in new[] { (1, CacheProbeJson, false), (2, CacheProbeStream, true) })
        {
            var (status, text, _) = await client.SendAsync(HttpMethod.Post, api(frontend), "v1/chat/completions", setup.Tokens["acme"], ChatBody(prompt, stream));
            if (status != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"cache probe ({prompt}) answered {(int)status}: {text}");
            }
        }
    }

    /// <summary>
    /// Checks everything seeding added, through both frontends. Returns what is missing or unusable (empty: nothing
    /// lost). A request that gets no answer at all is tried three times, a second apart, before it counts.
    /// </summary>
    public async Task<IReadOnlyList<string>> VerifyAsync()
    {
        var lost = new List<string>();
        var globex = setup.Tokens["globex"];

        var keys = await ReadAsync(api(2), "admin/tenants/globex/keys", globex);
        foreach (var key in new[] { setup.ChatKey, setup.ApiKey })
        {
            if (keys is null || !keys.Contains(key.Mask, StringComparison.Ordinal))
            {
                lost.Add($"key {key.Mask} not in GET /admin/tenants/globex/keys" + (keys is null ? " (no answer)" : ""));
            }
        }

        var listed = await CommandTextAsync(api(1), globex, "#roxy list keys");
        foreach (var key in new[] { setup.ChatKey, setup.ApiKey })
        {
            if (listed is null || !listed.Contains(key.Mask, StringComparison.Ordinal))
            {
                lost.Add($"key {key.Mask} not in #roxy list keys");
            }
        }

        var rules = await ReadAsync(api(1), "admin/tenants/globex/rules", globex);
        var models = await CommandTextAsync(api(2), globex, "#roxy list models");
        foreach (var source in new[] { DrillSetup.ChatRule, DrillSetup.ApiRule })
        {
            if (rules is null || !rules.Contains(source, StringComparison.Ordinal))
            {
                lost.Add($"rule {source} not in GET /admin/tenants/globex/rules");
            }

            if (models is null || !models.Contains(source, StringComparison.Ordinal))
            {
                lost.Add($"rule {source} not in #roxy list models");
            }
        }

        var tokens = await ReadAsync(api(2), "admin/tenants/globex/tokens", globex);
        if (tokens is null || !tokens.Contains(_issuedTokenId, StringComparison.Ordinal))
        {
            lost.Add($"token {_issuedTokenId} not in GET /admin/tenants/globex/tokens");
        }

        // Usable: each rule answers, on each frontend, with the issued token, from one of the runtime keys (globex has no other).
        foreach (var (frontend, source) in new[] { (1, DrillSetup.ApiRule), (2, DrillSetup.ChatRule) })
        {
            var (status, text, _) = await RetryAsync(() => client.SendAsync(HttpMethod.Post, api(frontend), "v1/chat/completions", IssuedToken, ChatBody("fault drill: is " + source + " usable?", false, source)));
            if (status != HttpStatusCode.OK)
            {
                lost.Add($"rule {source} with the issued token on frontend {frontend}: {(int)status} {Short(text)}");
            }
        }

        foreach (var (frontend, prompt, stream) in new[] { (2, CacheProbeJson, true), (1, CacheProbeStream, false) })
        {
            var (status, text, headers) = await RetryAsync(() => client.SendAsync(HttpMethod.Post, api(frontend), "v1/chat/completions", setup.Tokens["acme"], ChatBody(prompt, stream)));
            var cache = headers is not null && headers.TryGetValues("x-roxy-cache", out var values) ? values.FirstOrDefault() : null;
            if (status != HttpStatusCode.OK || cache != "hit")
            {
                lost.Add($"cache entry \"{prompt}\" on frontend {frontend}: {(int)status}, x-roxy-cache {cache ?? "absent"} {(status == HttpStatusCode.OK ? "" : Short(text))}");
            }
        }

        return lost;
    }

    /// <summary>Whether tenant budget still carries its budget (GET /admin/tenants, the operator's view); null when it holds.</summary>
    public async Task<string?> BudgetSettingProblemAsync()
    {
        var text = await ReadAsync(api(1), "admin/tenants", setup.OperatorToken);
        if (text is null)
        {
            return "GET /admin/tenants did not answer";
        }

        var tenant = JsonNode.Parse(text)!["data"]!.AsArray().FirstOrDefault(t => t?["id"]?.GetValue<string>() == "budget");
        var daily = tenant?["budget"]?["daily_usd"]?.GetValue<decimal>();
        return daily == DrillSetup.BudgetUsd ? null : $"tenant budget's daily_usd is {daily?.ToString(CultureInfo.InvariantCulture) ?? "gone"}, was set to {DrillSetup.BudgetUsd}";
    }

    public static string ChatBody(string prompt, bool stream, string model = "gpt-4o-mini") => Json(new
    {
        model,
        max_tokens = 16,
        stream,
        messages = new[] { new { role = "user", content = prompt } },
    });

    private async Task<string?> ReadAsync(Uri at, string path, string token)
    {
        var (status, text, _) = await RetryAsync(() => client.SendAsync(HttpMethod.Get, at, path, token));
        return status == HttpStatusCode.OK ? text : null;
    }

    private async Task<string?> CommandTextAsync(Uri at, string token, string command)
    {
        var (status, text) = await RetryAsync(() => client.CommandAsync(at, token, command));
        return status == HttpStatusCode.OK ? text : null;
    }

    private static Task<(HttpStatusCode Status, string Text, HttpResponseHeaders? Headers)> RetryAsync(Func<Task<(HttpStatusCode Status, string Text, HttpResponseHeaders? Headers)>> call) =>
        RetryAsync(call, r => r.Status);

    private static Task<(HttpStatusCode Status, string Text)> RetryAsync(Func<Task<(HttpStatusCode Status, string Text)>> call) =>
        RetryAsync(call, r => r.Status);

    // Only no answer or a 5xx is tried again: a definite answer (200 without the item, a 401) counts at once.
    private static async Task<T> RetryAsync<T>(Func<Task<T>> call, Func<T, HttpStatusCode> status)
    {
        var result = await call();
        for (var attempt = 1; attempt < 3 && status(result) is 0 or >= HttpStatusCode.InternalServerError; attempt++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            result = await call();
        }

        return result;
    }

    private static async Task Expect(Task<(HttpStatusCode Status, string Text)> command, string expected, string what)
    {
        var (status, text) = await command;
        if (status != HttpStatusCode.OK || !text.Contains(expected, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{what} answered {(int)status}: {text}");
        }
    }

    private static string Created((HttpStatusCode Status, string Text, HttpResponseHeaders? Headers) answer, string what) =>
        answer.Status is HttpStatusCode.OK or HttpStatusCode.Created ? answer.Text : throw new InvalidOperationException($"{what} answered {(int)answer.Status}: {answer.Text}");

    private static string Json<T>(T value) => JsonSerializer.Serialize(value);

    private static string Short(string text) => text.Length <= 160 ? text : text[..160] + "…";
}
