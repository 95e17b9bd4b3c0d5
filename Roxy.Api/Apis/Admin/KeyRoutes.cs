using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Roxy.Api.Administration;
using Roxy.Api.Errors;
using Roxy.Api.Json;

namespace Roxy.Api.Apis.Admin;

/// <summary><c>/admin/tenants/{tenant}/keys</c>: the same operations as <c>#roxy add/remove/enable/disable/list key(s)</c>.</summary>
public static class KeyRoutes
{
    public static RouteGroupBuilder MapKeyRoutes(this RouteGroupBuilder group)
    {
        group.MapGet("/keys", ListAsync)
            .WithName("ListKeys")
            .WithSummary("The tenant's provider keys, as #roxy list keys.")
            .WithDescription("Id, provider, mask, limits, state (active, cooling, disabled and why), use this minute and source of every key. Never a secret.")
            .WithResponseExample(StatusCodes.Status200OK, KeyList.Example)
            .ProducesAdminErrors();
        group.MapPost("/keys", AddAsync)
            .WithName("AddKey")
            .WithSummary("Adds a provider key, as #roxy add key.")
            .WithDescription("Stores the key encrypted under ROXY_MASTER_KEY and puts it in rotation at once; answers 201 with its id and mask, never the key. " +
                "400: unknown provider, bad limits, not a key, or ROXY_MASTER_KEY missing; 409: the key is already this tenant's or another tenant's.")
            .WithRequestExample(KeyAddRequest.Example)
            .WithResponseExample(StatusCodes.Status201Created, KeyAdded.Example)
            .ProducesAdminErrors(400, 401, 403, 404, 409);
        group.MapDelete("/keys/{id}", RemoveAsync)
            .WithName("RemoveKey")
            .WithSummary("Removes a key added at run time, as #roxy remove key.")
            .WithDescription("204 when removed; 404 when the tenant has no such key; 409 for a key from the configuration or environment (remove it there, or disable it).")
            .ProducesAdminErrors(401, 403, 404, 409);
        group.MapPost("/keys/{id}/enable", (string tenant, string id, HttpContext http, KeyAdministration keys) => SetEnabledAsync(tenant, id, true, http, keys))
            .WithName("EnableKey")
            .WithSummary("Takes a key back into rotation, as #roxy enable key.")
            .WithDescription("Answers the key as listed afterwards; 404 when the tenant has no such key.")
            .WithResponseExample(StatusCodes.Status200OK, KeyView.Example)
            .ProducesAdminErrors(401, 403, 404);
        group.MapPost("/keys/{id}/disable", (string tenant, string id, HttpContext http, KeyAdministration keys) => SetEnabledAsync(tenant, id, false, http, keys))
            .WithName("DisableKey")
            .WithSummary("Takes a key out of rotation until enabled, as #roxy disable key.")
            .WithDescription("Works for config keys too. Answers the key as listed afterwards; 404 when the tenant has no such key.")
            .WithResponseExample(StatusCodes.Status200OK, KeyView.Example with { Enabled = false, State = "disabled (by an admin)" })
            .ProducesAdminErrors(401, 403, 404);
        return group;
    }

    public static async Task<Ok<KeyList>> ListAsync(string tenant, KeyAdministration keys) =>
        TypedResults.Ok(new KeyList([.. (await keys.ListAsync(tenant)).Select(KeyView.From)]));

    public static async Task<Results<Created<KeyAdded>, OpenAiErrorResult>> AddAsync(string tenant, HttpContext http, KeyAdministration keys)
    {
        var (body, error) = await AdminJsonBody.ReadAsync(http.Request, RoxyJsonContext.Default.KeyAddRequest);
        if (error is not null)
        {
            return ErrorWriter.ToResult(error);
        }

        if (string.IsNullOrEmpty(body!.Provider))
        {
            return ErrorWriter.ToResult(AdminErrors.Invalid("'provider' is required, e.g. \"openai\".", "provider"));
        }

        if (string.IsNullOrEmpty(body.Key))
        {
            return ErrorWriter.ToResult(AdminErrors.Invalid("'key' is required: the provider's API key.", "key"));
        }

        var result = await keys.AddAsync(AdminCaller.From(http.User).Actor, tenant, body.Provider, body.Key, body.MaxRpm, body.MaxTpm, body.CooldownSec);
        var key = result.Key;
        return result.Status switch
        {
            KeyAddStatus.Added => TypedResults.Created(
                $"/admin/tenants/{tenant}/keys/{key!.Id}", new KeyAdded(key.Id, key.Mask, key.Provider, new KeyLimits(key.MaxRpm, key.MaxTpm, key.CooldownSec))),
            // The given name is not echoed: with the fields swapped, it is the key.
            KeyAddStatus.UnknownProvider => ErrorWriter.ToResult(AdminErrors.Invalid($"Unknown provider. Known: {string.Join(", ", keys.ProviderNames)}.", "provider")),
            KeyAddStatus.InvalidLimit => ErrorWriter.ToResult(AdminErrors.Invalid(
                string.Create(CultureInfo.InvariantCulture, $"'{Field(result.Limit!)}' must be a whole number of at least {result.Minimum}."), Field(result.Limit!))),
            KeyAddStatus.NotAKey => ErrorWriter.ToResult(AdminErrors.Invalid("'key' does not look like an API key (too short).", "key")),
            KeyAddStatus.NoMasterKey => ErrorWriter.ToResult(AdminErrors.Invalid(
                $"Roxy cannot store keys added at run time: {result.Problem} Keys are only ever stored encrypted, so set ROXY_MASTER_KEY on every Roxy process and restart, " +
                "or add the key through an environment variable instead.", "key")),
            KeyAddStatus.AlreadyPresent => ErrorWriter.ToResult(AdminErrors.Conflict(
                "key_already_present", $"This key is already configured as '{key!.Id}' ({key.Mask}) for {key.Provider}; a secret is one key with one set of limits.")),
            KeyAddStatus.TenantNotFound => ErrorWriter.ToResult(AdminErrors.TenantNotFound(tenant)),
            _ => ErrorWriter.ToResult(AdminErrors.Conflict(
                "key_held_by_another_tenant", "This key is already used by another tenant. One provider quota can only have one limiter, so it cannot be added here.")),
        };
    }

    public static async Task<Results<NoContent, OpenAiErrorResult>> RemoveAsync(string tenant, string id, HttpContext http, KeyAdministration keys)
    {
        if (!KeyAdministration.IsKeyId(id))
        {
            return ErrorWriter.ToResult(NotFound(id));
        }

        var result = await keys.RemoveAsync(AdminCaller.From(http.User).Actor, tenant, null, id);
        return result.Status switch
        {
            KeyChangeOutcomeStatus.Done => TypedResults.NoContent(),
            KeyChangeOutcomeStatus.ConfigOwned => ErrorWriter.ToResult(AdminErrors.Conflict(
                "config_owned", $"Key '{id}' comes from the {result.Row!.Source}; remove it there, or take it out of rotation with POST …/keys/{id}/disable.")),
            KeyChangeOutcomeStatus.TenantNotFound => ErrorWriter.ToResult(AdminErrors.TenantNotFound(tenant)),
            _ => ErrorWriter.ToResult(NotFound(id)),
        };
    }

    public static async Task<Results<Ok<KeyView>, OpenAiErrorResult>> SetEnabledAsync(string tenant, string id, bool enabled, HttpContext http, KeyAdministration keys)
    {
        var result = await keys.SetEnabledAsync(AdminCaller.From(http.User).Actor, tenant, id, enabled);
        return result.Status switch
        {
            KeyChangeOutcomeStatus.Done => TypedResults.Ok(KeyView.From(result.Row!)),
            KeyChangeOutcomeStatus.TenantNotFound => ErrorWriter.ToResult(AdminErrors.TenantNotFound(tenant)),
            _ => ErrorWriter.ToResult(NotFound(id)),
        };
    }

    // Only a well-formed id is echoed: anything else in the URL may be a secret pasted in the wrong place.
    private static ProxyError NotFound(string id) => AdminErrors.NotFound("key", KeyAdministration.IsKeyId(id) ? id : "(not a key id)", "id");

    private static string Field(string limit) => limit switch
    {
        "rpm" => "max_rpm",
        "tpm" => "max_tpm",
        _ => "cooldown_sec",
    };
}
