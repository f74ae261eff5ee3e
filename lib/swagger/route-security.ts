import type { INestApplication } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { Keyring } from '../core/keyring.js';
import { requiresApiKey } from '../core/admission/route-access.js';
import type { WebhookSecretName } from '../core/webhooks/webhook-secrets.js';
import { REQUIRED_SCOPES_METADATA } from '../nest/module/api-key.constants.js';
import { ApiKeyGuard, routeDeclarations } from '../nest/access/api-key.guard.js';
import { webhookSecretNameOf } from '../nest/module/routes.check.js';
import { appRoutes, hasGuard, type AppRoute } from '../nest/access/route-declarations.js';

/** What a request to one route must carry, as the guards will check it. */
export interface RouteSecurity {
  route: AppRoute;
  /** An API key (`ApiKeyGuard` runs for the route, and the route is not `@Public()`). */
  apiKey: boolean;
  /** Scopes the key must hold (`@RequireScopes()` on the route and its controller). */
  scopes: readonly string[];
  /** The webhook secret the route checks instead (or besides). */
  webhook: WebhookSecretName | undefined;
}

/**
 * Whether `ApiKeyGuard` (or a subclass) runs for every route: registered by
 * `ApiKeyModule.forRoot({ protectAllRoutes: true })` (an `APP_GUARD`), by an `APP_GUARD` of the
 * app's own, or by `app.useGlobalGuards()`. All of these end up in the app's configuration,
 * which `@nestjs/swagger` reads the same way for the global prefix and versioning.
 */
export function guardRunsAppWide(app: INestApplication): boolean {
  // `config` holds the app-wide enhancers; it is not part of `NestApplication`'s public type.
  const guards = (app as unknown as { config?: { getGlobalGuards?: () => unknown[] } }).config?.getGlobalGuards?.();
  return hasGuard(guards, ApiKeyGuard);
}

/**
 * Every route of the app with what it requires, read from the same declarations the guards
 * obey: the nearest of `@Public()`, `@ApiKeyAuth()`/`@UseGuards(ApiKeyGuard)`/`@RequireScopes()`
 * and `@WebhookSecret()` wins. A route that declares nothing needs a key only when the guard runs
 * app-wide (`protectAllRoutes`).
 */
export function routeSecurities(app: INestApplication, keyring: Keyring, protectAllRoutes: boolean): RouteSecurity[] {
  const reflector = new Reflector();
  const discovery = app.get(DiscoveryService, { strict: false });
  return [...appRoutes(discovery, new MetadataScanner())].map((route) => {
    const { handler, controller } = route;
    const onRoute = routeDeclarations(reflector, handler);
    const onController = routeDeclarations(reflector, controller);
    // `requiresApiKey` assumes the app-wide guard where nothing is declared; without it, only a
    // declared guard checks a key.
    const apiKey = requiresApiKey(onRoute, onController) && (protectAllRoutes || onRoute.apiKey || onController.apiKey);
    const scopes = apiKey
      ? (reflector.getAllAndMerge<string[]>(REQUIRED_SCOPES_METADATA, [handler, controller]) ?? [])
      : [];
    const webhookName = webhookSecretNameOf(reflector, handler, controller);
    const webhook =
      webhookName === undefined
        ? undefined
        : { name: webhookName, scheme: keyring.webhooks.secrets.get(webhookName)?.scheme ?? ('bearer' as const) };
    return { route, apiKey, scopes, webhook };
  });
}
