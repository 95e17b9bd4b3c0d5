using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Roxy.FakeUpstream;
using Roxy.Tests.Fixtures;
using Xunit.Abstractions;

namespace Roxy.Tests.EndToEnd;

/// <summary>
/// Property: whatever bytes and headers a client sends to <c>POST /v1/chat/completions</c>, Roxy answers with a
/// status below 500 and a body, every 4xx body is OpenAI's error shape, and Roxy still serves a valid request
/// afterwards. Each generated body is sent as it is, after an earlier <c>#roxy</c> turn (which makes Roxy strip
/// the history before forwarding) and followed by a <c>#roxy</c> command (which makes Roxy answer itself).
/// </summary>
/// <remarks>
/// The seed is fixed so a failure reproduces; set <c>ROXY_FUZZ_SEED</c> (an unsigned 64-bit number) to explore
/// others. The seed in use is written to the test output and into every failure message.
/// </remarks>
public sealed class MalformedRequestFuzzTests(MalformedRequestFuzzTests.FuzzHost host, ITestOutputHelper output)
    : IClassFixture<MalformedRequestFuzzTests.FuzzHost>
{
    public const string SeedVariable = "ROXY_FUZZ_SEED";
    private const ulong DefaultSeed = 0x5EED_7_0000_0007UL;
    private const int Cases = 1500;

    private static readonly byte[] ValidBody = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"""u8.ToArray();

    [Fact]
    public async Task Malformed_requests_never_get_a_5xx_or_an_empty_body_and_roxy_keeps_serving()
    {
        var seed = Environment.GetEnvironmentVariable(SeedVariable) is { Length: > 0 } text
            ? ulong.Parse(text, CultureInfo.InvariantCulture)
            : DefaultSeed;
        output.WriteLine($"{SeedVariable}={seed}");

        var sent = 0;
        var statuses = new SortedDictionary<int, int>();
        var property = Prop.ForAll(RequestGenerators.Cases().ToArbitrary(), (FuzzCase c) =>
        {
            foreach (var variant in c.Variants())
            {
                var request = c.Render(variant);
                var status = SendAndCheck(request, seed);
                Interlocked.Increment(ref sent);
                lock (statuses)
                {
                    statuses[status] = statuses.GetValueOrDefault(status) + 1;
                }
            }
        });

        var config = Config.QuickThrowOnFailure
            .WithMaxTest(Cases)
            .WithQuietOnSuccess(true)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed, 0x9E37_79B9_7F4A_7C15UL), FSharpOption<int>.None)));
        var clock = Stopwatch.StartNew();
        // FsCheck runs properties synchronously; off the test's synchronization context, blocking on the sends is safe.
        await Task.Run(() => Check.One(config, property));
        output.WriteLine($"{sent} requests from {Cases} cases in {clock.Elapsed.TotalSeconds:F1} s; statuses: "
            + string.Join(", ", statuses.Select(s => $"{s.Key}×{s.Value}")));

        using var valid = await host.SendAsync(new FuzzRequest(ValidBody, "application/json", [("Authorization", "Bearer " + FuzzHost.AdminToken)]));
        Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
        Assert.Contains("Hello from the fake upstream", await valid.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private int SendAndCheck(FuzzRequest request, ulong seed)
    {
        int status;
        byte[] body;
        try
        {
            using var response = host.SendAsync(request).GetAwaiter().GetResult();
            status = (int)response.StatusCode;
            body = response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            throw new FuzzFailureException($"no answer ({ex.GetType().Name}: {ex.Message})", request, seed);
        }

        if (status >= 500)
        {
            throw new FuzzFailureException($"status {status}, body {Printable(body, 300)}", request, seed);
        }

        if (body.Length == 0)
        {
            throw new FuzzFailureException($"status {status} with an empty body", request, seed);
        }

        if (status >= 400 && ErrorShapeProblem(body) is { } problem)
        {
            throw new FuzzFailureException($"status {status}: {problem}; body {Printable(body, 300)}", request, seed);
        }

        return status;
    }

    /// <summary>Null when <paramref name="body"/> is <c>{"error":{"message":str,"type":str,"param":str|null,"code":str|null}}</c>.</summary>
    internal static string? ErrorShapeProblem(byte[] body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind != JsonValueKind.Object || !json.RootElement.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object)
            {
                return "no \"error\" object";
            }

            foreach (var (name, nullable) in new[] { ("message", false), ("type", false), ("param", true), ("code", true) })
            {
                if (!error.TryGetProperty(name, out var value))
                {
                    return $"error.{name} missing";
                }

                if (value.ValueKind != JsonValueKind.String && !(nullable && value.ValueKind == JsonValueKind.Null))
                {
                    return $"error.{name} is {value.ValueKind}";
                }
            }

            return null;
        }
        catch (JsonException ex)
        {
            return "not JSON (" + ex.Message + ")";
        }
    }

    /// <summary>Bytes as text: printable ASCII as is, everything else as <c>\xNN</c>, cut at <paramref name="max"/>.</summary>
    internal static string Printable(byte[] bytes, int max)
    {
        var sb = new StringBuilder();
        foreach (var b in bytes.Take(max))
        {
            sb.Append(b is >= 0x20 and < 0x7F and not (byte)'\\' ? ((char)b).ToString() : $"\\x{b:X2}");
        }

        return bytes.Length > max ? sb.Append(CultureInfo.InvariantCulture, $"… ({bytes.Length} bytes)").ToString() : sb.ToString();
    }

    private sealed class FuzzFailureException(string what, FuzzRequest request, ulong seed)
        : Exception($"{what}\n  request: {request}\n  {SeedVariable}={seed}");

    /// <summary>Roxy in front of a fake OpenAI upstream, with limits high enough that thousands of requests fit in a minute.</summary>
    public sealed class FuzzHost : IAsyncLifetime
    {
        public const string AdminToken = "fuzz-admin-token-0123456789";
        public const string MemberToken = "fuzz-member-token-0123456789";

        private static readonly HttpClient Http = new(new SocketsHttpHandler
        {
            UseCookies = false,
            AllowAutoRedirect = false,
        })
        { Timeout = TimeSpan.FromSeconds(30) };

        private FakeOpenAiServer _upstream = null!;
        private RoxyTestHost _roxy = null!;

        public CapturedLogs Logs => _roxy.Logs;

        public Uri BaseUrl => _roxy.BaseUrl;

        public async Task InitializeAsync()
        {
            _upstream = await FakeOpenAiServer.StartAsync(new FakeUpstreamOptions { RecordRequests = false });
            var postgres = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("fuzz");
            var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["ROXY_TOKEN"] = AdminToken,
                ["ROXY_MEMBER_TOKEN"] = MemberToken,
                ["KEY_A"] = "sk-fuzz-aaaaaaaaaaaa1111",
                ["KEY_B"] = "sk-fuzz-bbbbbbbbbbbb2222",
            };
            _roxy = await RoxyTestHost.StartAsync($$"""
                listen_addr: ":8080"
                tokens:
                  - { token_env: ROXY_TOKEN, role: admin }
                  - { token_env: ROXY_MEMBER_TOKEN, role: member }
                api_keys:
                  - { key_env_var: KEY_A, provider: openai, max_rpm: 1000000, max_tpm: 2000000000 }
                  - { key_env_var: KEY_B, provider: openai, max_rpm: 1000000, max_tpm: 2000000000 }
                model_rules:
                  - source_model: smart
                    target_models: [openai:gpt-4o-mini]
                providers:
                  openai: { base_url: "{{_upstream.BaseUrl}}" }
                server:
                  max_body_bytes: 65536
                rotation:
                  max_wait_ms: 100
                """, environment, postgres);
        }

        public Task<HttpResponseMessage> SendAsync(FuzzRequest request)
        {
            var message = new HttpRequestMessage(HttpMethod.Post, new Uri(_roxy.BaseUrl, "v1/chat/completions"))
            {
                Content = new ByteArrayContent(request.Body),
            };
            message.Content.Headers.ContentType = null;
            if (request.ContentType is not null)
            {
                message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
            }

            foreach (var (name, value) in request.Headers)
            {
                message.Headers.TryAddWithoutValidation(name, value);
            }

            return Http.SendAsync(message);
        }

        public async Task DisposeAsync()
        {
            await _roxy.DisposeAsync();
            await _upstream.DisposeAsync();
        }
    }
}

/// <summary>One HTTP request as sent: body bytes, Content-Type (null: none) and other headers.</summary>
public sealed record FuzzRequest(byte[] Body, string? ContentType, IReadOnlyList<(string Name, string Value)> Headers)
{
    public override string ToString() =>
        $"POST /v1/chat/completions; Content-Type: {(ContentType is null ? "(none)" : MalformedRequestFuzzTests.Printable(Encoding.Latin1.GetBytes(ContentType), 120))}; "
        + string.Concat(Headers.Select(h => $"{h.Name}: {MalformedRequestFuzzTests.Printable(Encoding.Latin1.GetBytes(h.Value), 120)}; "))
        + $"body ({Body.Length} bytes): {MalformedRequestFuzzTests.Printable(Body, 1500)}";
}

/// <summary>Where the generated messages sit: alone, after an earlier command turn, or before a command.</summary>
public enum HistoryVariant
{
    AsGenerated,
    AfterCommandTurn,
    FollowedByCommand,
}

/// <summary>A top-level member: raw name bytes (with quotes) and either a raw value or a list of raw messages.</summary>
public sealed record JsonMember(byte[] Name, byte[]? Value, IReadOnlyList<byte[]>? Messages);

/// <summary>How the rendered body is damaged after the fact.</summary>
public sealed record Mutation(string Kind, int Permille, byte[] Bytes)
{
    public static Mutation None { get; } = new("none", 0, []);

    public byte[] Apply(byte[] body)
    {
        var at = (int)((long)body.Length * Permille / 1000);
        return Kind switch
        {
            "truncate" => body[..at],
            "bom" => [0xEF, 0xBB, 0xBF, .. body],
            "insert" => [.. body[..at], .. Bytes, .. body[at..]],
            "append" => [.. body, .. Bytes],
            "utf16" => Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes(Encoding.UTF8.GetString(body))).ToArray(),
            "latin1" => Encoding.Latin1.GetBytes(Encoding.UTF8.GetString(body)),
            _ => body,
        };
    }
}

/// <summary>One generated case: headers, a body made of members, a #roxy command to follow it, a mutation.</summary>
public sealed record FuzzCase(
    string? ContentType,
    IReadOnlyList<(string Name, string Value)> Headers,
    IReadOnlyList<JsonMember> Members,
    byte[] Command,
    Mutation Mutation)
{
    private static readonly byte[] CommandTurn = """{"role":"user","content":"#roxy help"}"""u8.ToArray();
    private static readonly byte[] CommandAnswer = """{"role":"assistant","content":"**Roxy commands**: help, status, list keys"}"""u8.ToArray();

    /// <summary>Variants only differ when there is a messages array to put turns into.</summary>
    public IEnumerable<HistoryVariant> Variants() =>
        Members.Any(m => m.Messages is not null)
            ? [HistoryVariant.AsGenerated, HistoryVariant.AfterCommandTurn, HistoryVariant.FollowedByCommand]
            : [HistoryVariant.AsGenerated];

    public FuzzRequest Render(HistoryVariant variant)
    {
        var body = new List<byte> { (byte)'{' };
        for (var i = 0; i < Members.Count; i++)
        {
            if (i > 0)
            {
                body.Add((byte)',');
            }

            var member = Members[i];
            body.AddRange(member.Name);
            body.Add((byte)':');
            if (member.Value is not null)
            {
                body.AddRange(member.Value);
                continue;
            }

            IEnumerable<byte[]> messages = variant switch
            {
                HistoryVariant.AfterCommandTurn => [CommandTurn, CommandAnswer, .. member.Messages!],
                HistoryVariant.FollowedByCommand => [.. member.Messages!, Command],
                _ => member.Messages!,
            };
            body.Add((byte)'[');
            body.AddRange(Join(messages));
            body.Add((byte)']');
        }

        body.Add((byte)'}');
        return new FuzzRequest(Mutation.Apply([.. body]), ContentType, Headers);
    }

    public override string ToString() => Render(HistoryVariant.AsGenerated).ToString() + $" (mutation {Mutation.Kind})";

    internal static byte[] Join(IEnumerable<byte[]> parts)
    {
        var all = new List<byte>();
        foreach (var part in parts)
        {
            if (all.Count > 0)
            {
                all.Add((byte)',');
            }

            all.AddRange(part);
        }

        return [.. all];
    }
}

/// <summary>FsCheck generators for hostile chat completions requests, as raw bytes so anything can be expressed.</summary>
public static class RequestGenerators
{
    private static byte[] U(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Quote(byte[] inner) => [(byte)'"', .. inner, (byte)'"'];

    /// <summary>Bytes inside a JSON string: words, escapes, non-ASCII, control characters and invalid UTF-8.</summary>
    public static Gen<byte[]> StringInner { get; } = Gen.Frequency(
        (6, Gen.Elements(U("hi"), U("hello world"), U("gpt-4o-mini"), U(" "), U("#roxy"), U("user"))),
        (2, Gen.Elements(U("é"), U("模型"), U("😀"), U("\u200B"), U("\uFEFF"), U("Ω≈ç√"))),
        (3, Gen.Elements(U("\\n"), U("\\r\\n"), U("\\u0000"), U("\\u0007"), U("\\u001b[31m"), U("\\\""), U("\\\\"), U("\\ud800"), U("\\udc00x"), U("\\uD83D\\uDE00"), U("\\u0023roxy"), U("\\x41"), U("\\u12"))),
        (3, Gen.Elements(
            new byte[] { 0xFF },
            new byte[] { 0xFE, 0xFF },
            new byte[] { 0x80 },
            new byte[] { 0xBF, 0xBF },
            new byte[] { 0xC0, 0xAF }, // overlong '/'
            new byte[] { 0xE0, 0x80, 0xAF }, // overlong '/'
            new byte[] { 0xED, 0xA0, 0x80 }, // encoded surrogate
            new byte[] { 0xF4, 0x90, 0x80, 0x80 }, // above U+10FFFF
            new byte[] { 0xE2, 0x82 }, // truncated
            new byte[] { 0xC3 })),
        (1, Gen.Elements(new byte[] { 0x00 }, new byte[] { 0x01 }, new byte[] { 0x0A }, new byte[] { 0x0D }, new byte[] { 0x09 }, new byte[] { 0x7F })),
        (1, Gen.Elements(U("\""), U("\\"))),
        (1, Gen.Choose(100, 20_000).Select(n => U(new string('x', n)))));

    public static Gen<byte[]> StringValue { get; } =
        Gen.Choose(0, 4).SelectMany(n => Gen.ArrayOf(StringInner, n)).Select(parts => Quote(parts.SelectMany(p => p).ToArray()));

    public static Gen<byte[]> Number { get; } = Gen.Elements(
        "0", "-0", "1", "-1", "2", "100", "4096", "1000000", "2147483647", "2147483648", "-2147483648", "4294967296",
        "9223372036854775807", "9223372036854775808", "18446744073709551616", "1e308", "1e309", "-1e308", "1E2", "1e-400",
        "0.5", "1.0", "100.0", "-0.0", "00", "01", "+1", ".5", "1.", "NaN", "Infinity", "-", "1e", "0x10",
        "\"100\"", "\"2147483647\"", "\"-1\"", "\"1e308\"", "\"\"",
        "123456789012345678901234567890123456789012345678901234567890").Select(U);

    public static Gen<byte[]> Literal { get; } = Gen.Elements("null", "true", "false", "nul", "True", "undefined", "[]", "{}", "[,]", "{,}", "[1,]").Select(U);

    /// <summary>Nesting at and around the readers' depth limits (64, 128), and far beyond.</summary>
    public static Gen<byte[]> Deep { get; } =
        from depth in Gen.Elements(2, 10, 62, 63, 64, 65, 72, 73, 126, 127, 128, 129, 200, 1000)
        from objects in Gen.Elements(false, true)
        from inner in Gen.Elements(U("1"), U("\"x\""), U("{\"type\":\"text\",\"text\":\"#roxy help\"}"), U(""))
        select (byte[])(objects
            ? [.. Enumerable.Repeat(U("{\"a\":"), depth).SelectMany(b => b), .. (inner.Length == 0 ? U("null") : inner), .. Enumerable.Repeat((byte)'}', depth)]
            : [.. Enumerable.Repeat((byte)'[', depth), .. inner, .. Enumerable.Repeat((byte)']', depth)]);

    /// <summary>Any JSON value, sometimes broken, up to a small depth.</summary>
    public static Gen<byte[]> Value(int depth) => depth <= 0
        ? Gen.OneOf(StringValue, Number, Literal)
        : Gen.Frequency(
            (3, StringValue),
            (2, Number),
            (2, Literal),
            (1, Deep),
            (1, Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Value(depth - 1), n)).Select(items => (byte[])[(byte)'[', .. FuzzCase.Join(items), (byte)']'])),
            (1, Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Pair(Gen.OneOf(StringValue, Gen.Elements(U("\"role\""), U("\"content\""), U("\"type\""), U("\"text\""))), Value(depth - 1)), n))
                .Select(pairs => (byte[])[(byte)'{', .. FuzzCase.Join(pairs), (byte)'}'])));

    private static Gen<byte[]> Pair(Gen<byte[]> name, Gen<byte[]> value) =>
        from n in name
        from v in value
        select (byte[])[.. n, (byte)':', .. v];

    public static Gen<byte[]> Model { get; } = Gen.Frequency(
        (16, Gen.Elements("\"gpt-4o-mini\"", "\"smart\"").Select(U)),
        (4, Gen.Elements(
            "\"\"", "\" \"", "\"gpt-4o-mini\\r\\nX-Injected: 1\"", "\"gpt-4o-mini\\n\"", "\"gpt-é\"", "\"模型\"", "\"gpt\\u0000\"",
            "\"\\u0007\"", "\"openai:gpt-4o-mini\"", "\"openai:\"", "\":\"", "\"compat:x\"", "\"unknown-model-xyz\"", "\"../../etc/passwd\"",
            "\"gpt-4o-mini \"", "\"GPT-4O-MINI\"", "\"gpt-4o-mini\\t\"", "\"roxy\"", "\"openai/gpt-4o-mini\"").Select(U)),
        (1, Gen.Choose(300, 9000).Select(n => U("\"gpt-" + new string('m', n) + "\""))),
        (2, StringValue),
        (2, Gen.OneOf(Number, Literal, Deep)));

    private static Gen<byte[]> Role { get; } = Gen.Frequency(
        (30, Gen.Elements("\"user\"", "\"assistant\"", "\"system\"").Select(U)),
        (3, Gen.Elements("\"tool\"", "\"developer\"", "\"function\"", "\"USER\"", "\"\"", "\"roxy\"", "\"us\\u0065r\"").Select(U)),
        (2, StringValue),
        (2, Gen.OneOf(Number, Literal, Deep)));

    private static Gen<byte[]> ContentPart { get; } = Gen.Frequency(
        (4, StringValue.Select(t => (byte[])[.. U("{\"type\":\"text\",\"text\":"), .. t, (byte)'}'])),
        (1, Gen.Elements(
            "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBORw0KGgo=\"}}", "{\"type\":\"image_url\",\"image_url\":5}",
            "{\"type\":5}", "{\"text\":5}", "{\"type\":\"text\"}", "{\"type\":\"text\",\"text\":null}", "{\"type\":\"text\",\"text\":[\"#roxy help\"]}",
            "{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"\",\"format\":\"wav\"}}", "\"#roxy help\"", "null", "[]").Select(U)),
        (1, Value(1)));

    private static Gen<byte[]> Content { get; } = Gen.Frequency(
        (12, StringValue),
        (4, Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(ContentPart, n)).Select(parts => (byte[])[(byte)'[', .. FuzzCase.Join(parts), (byte)']'])),
        (2, Value(2)));

    private static Gen<byte[]> MessageMember { get; } = Gen.Frequency(
        (10, Role.Select(r => (byte[])[.. U("\"role\":"), .. r])),
        (10, Content.Select(c => (byte[])[.. U("\"content\":"), .. c])),
        (2, Gen.Elements("name", "tool_call_id", "tool_calls", "x_extra", "refusal").SelectMany(n => Value(2).Select(v => (byte[])[.. U($"\"{n}\":"), .. v]))),
        (1, Pair(StringValue, Value(1))));

    /// <summary>A message: usually role then content, sometimes members missing, repeated or odd.</summary>
    public static Gen<byte[]> Message { get; } = Gen.Frequency(
        (16, from role in Role from content in Content select (byte[])[.. U("{\"role\":"), .. role, .. U(",\"content\":"), .. content, (byte)'}']),
        (3, Gen.Choose(0, 4).SelectMany(n => Gen.ArrayOf(MessageMember, n)).Select(members => (byte[])[(byte)'{', .. FuzzCase.Join(members), (byte)'}'])),
        (1, Value(2)));

    /// <summary>The command that follows the generated messages, with odd arguments; none changes how gpt-4o-mini routes.</summary>
    public static Gen<byte[]> Command { get; } =
        from text in Gen.Frequency(
            (6, Gen.Elements(
                "#roxy", "#roxy help", "#roxy  HELP extra words", "#ROXY help", "\\t\\n #roxy help", "#roxy list keys", "#roxy list models",
                "#roxy add key", "#roxy add key openai", "#roxy add key openai sk-fuzz-zzzzzzzz rpm=-1 tpm=99999999999 cooldown=abc",
                "#roxy remove key openai nope", "#roxy enable key", "#roxy disable key k-nonexistent", "#roxy test key k-nonexistent",
                "#roxy audit -5", "#roxy audit 99999999999", "#roxy audit 2147483647", "#roxy audit 0", "#roxy usage forever", "#roxy usage month extra",
                "#roxy why", "#roxy why ../..", "#roxy why req_\\u0000", "#roxy add model", "#roxy add model fuzz-src", "#roxy add model fuzz-src openai:fuzz-target weird",
                "#roxy remove model fuzz-nonexistent", "#roxy cache clear now", "#roxy cache", "#roxy cache stats", "#roxy status extra", "#roxy \\u0000",
                "#roxy é模型", "#roxy rpm=1 tpm=2", "#roxy ==", "#roxyhelp").Select(U)),
            (2, StringInner.Select(inner => (byte[])[.. U("#roxy "), .. inner])),
            (1, Gen.Choose(100, 5000).Select(n => U("#roxy " + new string('y', n)))))
        from asParts in Gen.Elements(false, false, true)
        select (byte[])(asParts
            ? [.. U("{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\""), .. text, .. U("\"}]}")]
            : [.. U("{\"role\":\"user\",\"content\":\""), .. text, .. U("\"}")]);

    private static Gen<JsonMember> Raw(string name, Gen<byte[]> value) => value.Select(v => new JsonMember(U($"\"{name}\""), v, null));

    private static Gen<JsonMember> Messages { get; } = Gen.Frequency(
        (1, Gen.Constant(new JsonMember(U("\"messages\""), null, []))),
        (12, Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Message, n)).Select(m => new JsonMember(U("\"messages\""), null, m))),
        (1, Value(2).Select(v => new JsonMember(U("\"messages\""), v, null))));

    private static Gen<JsonMember> Optional { get; } = Gen.OneOf(
        Raw("stream", Gen.Frequency((4, Gen.Elements(U("true"), U("false"))), (1, Value(1)))),
        Raw("max_tokens", Gen.Frequency((3, Number), (1, Value(1)))),
        Raw("max_completion_tokens", Number),
        Raw("stream_options", Gen.Frequency(
            (3, Gen.Elements("{\"include_usage\":true}", "{\"include_usage\":false}", "{\"include_usage\":\"yes\"}", "{\"include_usage\":null}", "{}", "{\"x\":1}").Select(U)),
            (1, Value(2)))),
        Raw("temperature", Number),
        Raw("n", Number),
        Raw("seed", Number),
        Raw("tools", Value(2)),
        Raw("response_format", Value(2)),
        Raw("user", StringValue),
        Raw("x_deep", Deep),
        StringValue.SelectMany(name => Value(1).Select(v => new JsonMember(name, v, null))));

    /// <summary>Members: usually model and messages, plus options; some missing, repeated (duplicate keys) or shuffled.</summary>
    public static Gen<IReadOnlyList<JsonMember>> Members { get; } =
        from model in Raw("model", Model)
        from messages in Messages
        from options in Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Optional, n))
        from shape in Gen.Frequency((20, Gen.Constant("normal")), (1, Gen.Constant("no-model")), (1, Gen.Constant("no-messages")), (1, Gen.Constant("duplicates")), (1, Gen.Constant("shuffled")))
        from shuffled in Gen.Shuffle([model, messages, .. options])
        select (IReadOnlyList<JsonMember>)(shape switch
        {
            "no-model" => [messages, .. options],
            "no-messages" => [model, .. options],
            "duplicates" => [model, messages, .. options, new JsonMember(U("\"model\""), U("\"gpt-4o-mini\""), null), messages],
            "shuffled" => shuffled,
            _ => [model, messages, .. options],
        });

    public static Gen<Mutation> Mutations { get; } = Gen.Frequency(
        (30, Gen.Constant(Mutation.None)),
        (2, Gen.Choose(0, 999).Select(p => new Mutation("truncate", p, []))),
        (1, Gen.Constant(new Mutation("bom", 0, []))),
        (2, from p in Gen.Choose(0, 1000)
            from b in Gen.Elements(new byte[] { 0xFF }, new byte[] { 0x80 }, new byte[] { 0xC0, 0x80 }, new byte[] { 0x00 }, U("\""), U("}"), U(","), U("\\"), new byte[] { 0xEF, 0xBB, 0xBF })
            select new Mutation("insert", p, b)),
        (1, Gen.Elements(U("}"), U(" garbage"), U("{}"), new byte[] { 0xFF }, U("\n\n\n"), new byte[] { 0x00 }).Select(b => new Mutation("append", 0, b))),
        (1, Gen.Elements("utf16", "latin1").Select(k => new Mutation(k, 0, []))));

    public static Gen<string?> ContentTypes { get; } = Gen.Frequency(
        (30, Gen.Constant<string?>("application/json")),
        (4, Gen.Elements(
            null, "", "text/plain", "application/json; charset=utf-8", "application/json; charset=utf-16", "application/json; charset=latin1",
            "application/json; charset=\"nonsense\"", "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz", "APPLICATION/JSON",
            "application/json;;;", "*/*", "application/json; charset=", "application/json, text/plain")));

    private static readonly string[] AuthorizationOddities =
    [
        "Bearer", "Bearer ", "Bearer  " + MalformedRequestFuzzTests.FuzzHost.AdminToken + " ", "bearer " + MalformedRequestFuzzTests.FuzzHost.AdminToken,
        "BEARER " + MalformedRequestFuzzTests.FuzzHost.AdminToken, "Basic Zm9vOmJhcg==", MalformedRequestFuzzTests.FuzzHost.AdminToken, "Bearer wrong-token",
        "Bearer " + MalformedRequestFuzzTests.FuzzHost.AdminToken + "\t", "Bearer " + new string('t', 8000), "Bearer \u0001\u0002",
        "Bearer " + MalformedRequestFuzzTests.FuzzHost.AdminToken + ", Bearer " + MalformedRequestFuzzTests.FuzzHost.MemberToken,
    ];

    /// <summary>Authentication headers: mostly a valid token (so the body is read), sometimes odd or missing.</summary>
    public static Gen<(string, string)[]> Auth { get; } = Gen.Frequency(
        (30, Gen.Constant<(string, string)[]>([("Authorization", "Bearer " + MalformedRequestFuzzTests.FuzzHost.AdminToken)])),
        (3, Gen.Constant<(string, string)[]>([("Authorization", "Bearer " + MalformedRequestFuzzTests.FuzzHost.MemberToken)])),
        (2, Gen.Constant<(string, string)[]>([("x-api-key", MalformedRequestFuzzTests.FuzzHost.AdminToken)])),
        (1, Gen.Constant<(string, string)[]>([])),
        (3, Gen.Elements(AuthorizationOddities).Select(v => new[] { ("Authorization", v) })),
        (1, Gen.Elements(AuthorizationOddities).Select(v => new[] { ("x-api-key", v), ("Authorization", "Bearer " + MalformedRequestFuzzTests.FuzzHost.AdminToken) })),
        (1, Gen.Constant<(string, string)[]>([("x-api-key", ""), ("Authorization", "")])));

    public static Gen<(string, string)[]> ExtraHeaders { get; } = Gen.Frequency(
        (20, Gen.Constant<(string, string)[]>([])),
        (1, Gen.Elements("-1", "0", "abc", "99999999999999999999", "1e3", "2147483648").Select(v => new[] { ("x-roxy-cache-ttl", v) })),
        (1, Gen.Elements("no-cache", "no-store", "no-cache, no-store", "max-age=-1").Select(v => new[] { ("Cache-Control", v) })),
        (1, Gen.Elements("text/event-stream", "application/xml").Select(v => new[] { ("Accept", v) })),
        (1, Gen.Elements("gzip", "br", "identity;q=0", "x").Select(v => new[] { ("Accept-Encoding", v) })),
        (1, Gen.Choose(1000, 12_000).Select(n => new[] { ("x-long-header", new string('h', n)) })),
        (1, Gen.Elements("req-1 2", "", new string('r', 2000), "../../x").Select(v => new[] { ("x-request-id", v) })));

    public static Gen<FuzzCase> Cases() =>
        from contentType in ContentTypes
        from auth in Auth
        from extra in ExtraHeaders
        from members in Members
        from command in Command
        from mutation in Mutations
        select new FuzzCase(contentType, [.. auth, .. extra], members, command, mutation);
}
