using Roxy.Api.Protocols;
using Roxy.Grains.Caching;

namespace Roxy.Api.Caching;

/// <summary>
/// Assembles the answer an upstream attempt relays, in Roxy's canonical form, so it can be stored: from the decoded
/// stream events as they pass, or from a whole JSON answer. Only a complete, successful answer under the size cap
/// builds an entry.
/// </summary>
public sealed class CompletionRecorder(int maxEntryBytes)
{
    public int MaxEntryBytes => maxEntryBytes;

    public void Add(in ChatEvent chatEvent) => throw new NotImplementedException();

    public void Record(ChatCompletion completion) => throw new NotImplementedException();

    /// <summary>The stream ended with its end marker (or a finish and a clean close) and no error.</summary>
    public void Complete() => throw new NotImplementedException();

    /// <summary>The entry to store; null when the answer was cut off, failed, was not seen whole or is over the cap.</summary>
    public CachedCompletion? Build(string provider) => throw new NotImplementedException();
}
