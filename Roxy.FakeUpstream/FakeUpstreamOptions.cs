namespace Roxy.FakeUpstream;

/// <summary>Start-up options for <see cref="FakeOpenAiServer"/>.</summary>
public sealed class FakeUpstreamOptions
{
    /// <summary>TCP port on 127.0.0.1; 0 (default) picks a free port.</summary>
    public int Port { get; set; }

    /// <summary>Record every request (method, path, headers, body, key, time). Default true; the benchmark turns it off.</summary>
    public bool RecordRequests { get; set; } = true;

    /// <summary>Number of content chunks (words) in a normal answer. Default 5.</summary>
    public int ContentChunks { get; set; } = 5;

    /// <summary>Optional fixed answer text; split into chunks at spaces. When null, a stock sentence of <see cref="ContentChunks"/> words is used.</summary>
    public string? ContentText { get; set; }

    /// <summary>Dimensions of the fake embedding vectors when a request names none (OpenAI's are 1536 or more). Default 16, to keep answers small.</summary>
    public int EmbeddingDimensions { get; set; } = 16;

    /// <summary>Model ids listed by GET /v1/models.</summary>
    public IReadOnlyList<string> Models { get; set; } = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"];

    /// <summary>Clock used for arrival times and the per-key rate-limit window (delays always use real time).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Log Kestrel warnings/errors to the console. Default false (silent).</summary>
    public bool ConsoleLogging { get; set; }
}
