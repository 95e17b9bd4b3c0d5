using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Roxy.Api.Errors;

namespace Roxy.Api.Apis.Admin;

/// <summary>
/// The two admin policies: <see cref="Operator"/> (the operator token only) and <see cref="TenantAdmin"/> (the operator,
/// or an admin token; which tenant it may touch is <see cref="TenantScopeFilter"/>'s business). Both authenticate only
/// with <see cref="RoxyTokenAuthentication"/>, and there is no default scheme (not even the automatic one), so the
/// proxy routes never run it.
/// </summary>
public static class AdminPolicies
{
    public const string Operator = "roxy-operator";
    public const string TenantAdmin = "roxy-tenant-admin";

    public static IServiceCollection AddRoxyAdminAuth(this IServiceCollection services)
    {
        services.AddSingleton<OperatorToken>();
        // With one scheme registered, ASP.NET Core makes it the default, and the authentication middleware runs it on
        // every request: the proxy routes would pay a second token lookup, and a bad token a log line. This switch keeps
        // the scheme to the routes whose policies name it.
        AppContext.SetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", true);
        services.AddAuthentication().AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, RoxyTokenAuthentication>(RoxyTokenAuthentication.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(Operator, p => p.AddAuthenticationSchemes(RoxyTokenAuthentication.SchemeName).RequireAuthenticatedUser().AddRequirements(new OperatorRequirement()))
            .AddPolicy(TenantAdmin, p => p.AddAuthenticationSchemes(RoxyTokenAuthentication.SchemeName).RequireAuthenticatedUser().AddRequirements(new TenantAdminRequirement()));
        services.AddSingleton<IAuthorizationHandler, OperatorRequirement.Handler>();
        services.AddSingleton<IAuthorizationHandler, TenantAdminRequirement.Handler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, AdminAuthorizationResults>();
        return services;
    }
}

public sealed class OperatorRequirement : IAuthorizationRequirement
{
    public sealed class Handler : AuthorizationHandler<OperatorRequirement>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, OperatorRequirement requirement)
        {
            if (AdminCaller.From(context.User).IsOperator)
            {
                context.Succeed(requirement);
            }

            return Task.CompletedTask;
        }
    }
}

public sealed class TenantAdminRequirement : IAuthorizationRequirement
{
    public sealed class Handler : AuthorizationHandler<TenantAdminRequirement>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, TenantAdminRequirement requirement)
        {
            if (AdminCaller.From(context.User).Role == Grains.Tenancy.TenantRole.Admin)
            {
                context.Succeed(requirement);
            }

            return Task.CompletedTask;
        }
    }
}

/// <summary>
/// Authorization failures in OpenAI's error shape: 401 without a valid token, 403 for a member (or a tenant admin on an
/// operator route), and 404 on every operator route while <c>ROXY_ADMIN_TOKEN</c> is unset, saying how to enable them.
/// </summary>
public sealed class AdminAuthorizationResults(OperatorToken operatorToken) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
        {
            return _default.HandleAsync(next, context, policy, authorizeResult);
        }

        var operatorRoute = policy.Requirements.OfType<OperatorRequirement>().Any();
        if (operatorRoute && !operatorToken.IsSet)
        {
            return ErrorWriter.WriteAsync(context, AdminErrors.OperatorRoutesOff);
        }

        if (authorizeResult.Challenged)
        {
            return ErrorWriter.WriteAsync(context, ProxyError.InvalidApiKey);
        }

        return ErrorWriter.WriteAsync(context, operatorRoute ? AdminErrors.OperatorTokenNeeded : AdminErrors.AdminTokenNeeded);
    }
}
