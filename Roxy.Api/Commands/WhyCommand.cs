using System.Globalization;
using System.Text;
using Roxy.Api.Administration;
using Roxy.Api.Tracing;
using Roxy.Grains.Tracing;

namespace Roxy.Api.Commands;

/// <summary>
/// <c>#roxy why &lt;request-id&gt;</c>: how a recent request of this tenant was routed (SPEC §9), from whichever frontend
/// served it: the rule, every target and key tried or passed over and why, the wait, the cache, tokens, cost, timings.
/// </summary>
public sealed class WhyCommand(RequestAdministration requests) : IRoxyCommand
{
    public string Name => "why";
    public string Syntax => "#roxy why <request-id>";
    public string Summary => "The routing decision of a recent request of this tenant (its x-request-id): rule, keys tried or skipped and why, wait, cache, tokens, cost, timings.";
    public bool AdminOnly => true;

    public async Task<CommandReply> ExecuteAsync(CommandContext context, CommandArgs args)
    {
        if (args.Positional.Count != 1 || args.OptionNames.Any())
        {
            return CommandReply.Error("Give one request id: the `x-request-id` header of the answer (`req_…`).", Syntax);
        }

        var requestId = args.Positional[0];
        var trace = await requests.FindAsync(context.Identity.TenantId, requestId);
        return trace is null
            ? CommandReply.Error(RequestAdministration.NotFoundMessage(requestId).Replace("`", "'", StringComparison.Ordinal), Syntax)
            : CommandReply.Ok(Render(trace));
    }

    /// <summary>The trace as Markdown: what was asked and how it ended, then each step, then tokens, cost and timings.</summary>
    public static string Render(RequestTrace trace)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"**Request `{trace.RequestId}`** at {trace.StartedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC, {trace.Protocol}{(trace.Stream ? ", streamed" : "")}, token `{trace.TokenId ?? "-"}`\n\n");
        text.Append("- model asked: ").Append(Markdown.Code(trace.RequestedModel)).Append('\n');
        text.Append("- rule: ").Append(trace.Rule is { } rule ? Markdown.Code(rule) : "none (sent to the model's provider as named)").Append('\n');
        text.Append(CultureInfo.InvariantCulture, $"- answer: **{trace.Status}**");
        if (trace.Provider is not null)
        {
            text.Append(" from ").Append(Markdown.Code($"{trace.Provider}:{trace.AnswerModel}"));
            if (trace.KeyId is not null)
            {
                text.Append(" with key `").Append(trace.KeyId).Append('`');
            }
        }

        if (trace.ErrorType is not null)
        {
            text.Append(", error `").Append(trace.ErrorType).Append('`');
        }

        text.Append("\n- cache: ").Append(trace.CacheResult).Append('\n');

        if (trace.Steps.Count == 0)
        {
            text.Append(trace.CacheResult == "hit" ? "\nServed from the prompt cache: no provider was called.\n" : "\nNo provider was called.\n");
        }
        else
        {
            text.Append("\n**Steps**\n\n");
            var n = 0;
            foreach (var step in trace.Steps)
            {
                text.Append(CultureInfo.InvariantCulture, $"{++n}. ");
                if (TraceExplainer.HasTarget(step))
                {
                    text.Append(Markdown.Code($"{step.Provider}:{step.Model}")).Append(' ');
                }

                if (step.KeyId is not null)
                {
                    text.Append("key `").Append(step.KeyId).Append("`: ");
                }

                text.Append(TraceExplainer.What(step)).Append('\n');
                foreach (var skip in step.SkippedKeys ?? [])
                {
                    text.Append("   - skipped key `").Append(skip.KeyId).Append("`: ").Append(TraceExplainer.Why(skip)).Append('\n');
                }
            }
        }

        text.Append(CultureInfo.InvariantCulture, $"\n**Tokens** {trace.PromptTokens} in ({trace.CachedTokens} cached), {trace.CompletionTokens} out · **cost** {UsageCommand.Usd(trace.CostUsd)}");
        if (trace.SavedUsd > 0)
        {
            text.Append(" · **saved** ").Append(UsageCommand.Usd(trace.SavedUsd));
        }

        text.Append(CultureInfo.InvariantCulture, $"\n\n**Timings** total {trace.LatencyMs:0.0} ms");
        if (trace.FirstByteMs >= 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", first byte {trace.FirstByteMs:0.0} ms");
        }

        text.Append(CultureInfo.InvariantCulture, $", waited {trace.WaitedMs:0} ms · served by `{trace.Frontend}`");
        return text.ToString();
    }
}
