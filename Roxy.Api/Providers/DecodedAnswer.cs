using Roxy.Api.Protocols;

namespace Roxy.Api.Providers;

/// <summary>A whole JSON answer as checked (and, across protocols, decoded) by its upstream protocol.</summary>
/// <param name="WellFormed">False: the provider answered 200 with something that is not an answer of its protocol.</param>
/// <param name="Completion">Set when the answer must be re-encoded for a client of another protocol, or is kept for the prompt cache.</param>
public readonly record struct DecodedAnswer(bool WellFormed, TokenUsage Usage, bool UsageKnown, ChatCompletion? Completion = null);
