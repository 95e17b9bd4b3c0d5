namespace Roxy.Api.Apis.Admin;

/// <summary>The usage route's examples in the OpenAPI document, in the JSON the route writes.</summary>
internal static class UsageReportExample
{
    public const string Json = """
        {
          "tenant": "acme",
          "period": "day",
          "from": "2026-03-14",
          "to": "2026-03-14",
          "total": { "id": "total", "requests": 3, "cache_hits": 1, "prompt_tokens": 3000, "completion_tokens": 400, "cached_tokens": 1280, "cost_usd": 0.00648, "saved_usd": 0.00324 },
          "by_model": [
            { "id": "openai:gpt-4o-mini", "requests": 3, "cache_hits": 1, "prompt_tokens": 3000, "completion_tokens": 400, "cached_tokens": 1280, "cost_usd": 0.00648, "saved_usd": 0.00324 }
          ],
          "by_key": [
            { "id": "k-3f9a1c", "requests": 2, "cache_hits": 0, "prompt_tokens": 3000, "completion_tokens": 400, "cached_tokens": 1280, "cost_usd": 0.00648, "saved_usd": 0 },
            { "id": "", "requests": 1, "cache_hits": 1, "prompt_tokens": 0, "completion_tokens": 0, "cached_tokens": 0, "cost_usd": 0, "saved_usd": 0.00324 }
          ],
          "by_token": [
            { "id": "t-admin", "requests": 3, "cache_hits": 1, "prompt_tokens": 3000, "completion_tokens": 400, "cached_tokens": 1280, "cost_usd": 0.00648, "saved_usd": 0.00324 }
          ],
          "unpriced": []
        }
        """;

    public const string BadPeriodJson = """
        { "error": { "message": "`period` must be `day` or `month`.", "type": "invalid_request_error", "param": "period", "code": "invalid_request_error" } }
        """;
}
