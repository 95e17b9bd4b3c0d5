using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Roxy.Bench;

/// <summary>
/// Creates runtime tenants through Roxy's admin REST API, as an operator would: each gets an OpenAI key of its own (a
/// secret may belong to one tenant only) with limits far above any load, and a member token, written one a line to
/// the tokens file in tenant order. A few requests in parallel; a tenant that already exists is reused.
/// </summary>
internal static class TenantSetup
{
    private const int Parallel = 4;

    public static async Task<int> RunAsync(HttpClient client, BenchOptions options, int count)
    {
        var root = new Uri(options.Targets[0].Url.GetLeftPart(UriPartial.Authority));
        var tokens = new string[count];
        var next = -1;
        var started = DateTime.UtcNow;
        await Task.WhenAll(Enumerable.Range(0, Parallel).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var tenant = $"{options.TenantPrefix}-{i:D4}";
                await PostAsync(client, root, "/admin/tenants", options.AdminToken!, new { id = tenant }, HttpStatusCode.Conflict);
                var key = "sk-scale-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
                await PostAsync(client, root, $"/admin/tenants/{tenant}/keys", options.AdminToken!,
                    new { provider = "openai", key, max_rpm = 100_000_000, max_tpm = 100_000_000_000L, cooldown_sec = 1 }, null);
                using var issued = await PostAsync(client, root, $"/admin/tenants/{tenant}/tokens", options.AdminToken!, new { role = "member" }, null);
                tokens[i] = issued!.RootElement.GetProperty("token").GetString()!;
            }
        }));
        await File.WriteAllLinesAsync(options.TokensOut!, tokens);
        Console.Error.WriteLine($"Roxy.Bench: {count} tenants ready in {(DateTime.UtcNow - started).TotalSeconds:F0} s; tokens in {options.TokensOut}");
        return 0;
    }

    private static async Task<JsonDocument?> PostAsync(HttpClient client, Uri root, string path, string adminToken, object body, HttpStatusCode? alsoFine)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(root, path))
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode == alsoFine)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST {path}: HTTP {(int)response.StatusCode} {text}");
        }

        return JsonDocument.Parse(text);
    }
}
