/** What one level (a route, or its controller) declares about how it is authenticated. */
export interface AccessDeclarations {
  /** `@Public()`. */
  public: boolean;
  /** `@ApiKeyAuth()`, `@UseGuards(ApiKeyGuard)` or `@RequireScopes(...)`. */
  apiKey: boolean;
  /** `@WebhookSecret()` or `@UseGuards(WebhookSecretGuard)`: the route checks a webhook secret instead. */
  webhook: boolean;
}

/**
 * True when one level declares both `@Public()` and API-key auth: the module refuses that at
 * start-up, and should it ever be reached, the key is required.
 */
export function isContradictory(declared: AccessDeclarations): boolean {
  return declared.public && declared.apiKey;
}

/**
 * Decides whether a route needs an API key: the nearest declaration wins. The route's own
 * declarations are read first, then its controller's; a level that says nothing defers to the
 * next. `@Public()` on a controller therefore does not switch off a route's own `@ApiKeyAuth()`
 * or `@RequireScopes()`, and a route's `@Public()` opens it inside a protected controller.
 * A webhook route (checked by its secret) needs no API key, unless it asks for one itself.
 * Where nothing is declared the guard runs app-wide (`protectAllRoutes`), and the key is required.
 */
export function requiresApiKey(route: AccessDeclarations, controller: AccessDeclarations): boolean {
  for (const declared of [route, controller]) {
    if (declared.apiKey) return true;
    if (declared.public || declared.webhook) return false;
  }
  return true;
}
