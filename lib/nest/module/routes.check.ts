import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, HttpAdapterHost, MetadataScanner, ModuleRef, Reflector } from '@nestjs/core';
import { KeyringConfigError } from '../../core/refusals/failure.js';
import type { Keyring } from '../../core/keyring.js';
import { isContradictory } from '../../core/admission/route-access.js';
import { rawBodyStartupError } from '../../core/webhooks/webhook-raw-body.js';
import { DEFAULT_WEBHOOK_SECRET_NAME } from '../../core/webhooks/webhook-secrets.js';
import { KEYRING, WEBHOOK_SECRET_METADATA } from './api-key.constants.js';
import { appRoutes, type MetadataTarget } from '../access/route-declarations.js';
import { routeDeclarations } from '../access/api-key.guard.js';
import { rawBodyOption, watchRawBodyOption } from '../webhooks/webhook-raw-body.watch.js';

/**
 * Fails the app's start-up (`app.init()`, `app.listen()`) when a route's declarations cannot work,
 * rather than at its first request or delivery:
 * - a controller or a route is declared both `@Public()` and protected by an API key
 *   (`@ApiKeyAuth()`, `@UseGuards(ApiKeyGuard)`, `@RequireScopes()`) on the same level: one of the
 *   two would be ignored, and nothing says which one the author meant (across levels the nearest
 *   declaration wins: a route's own auth inside a `@Public()` controller is enforced);
 * - it checks a webhook secret that `webhookSecrets` does not configure (`@WebhookSecret('name')`
 *   with an unknown name, or `@UseGuards(WebhookSecretGuard)` with no `default`);
 * - it checks a Standard Webhooks signature and the app was created without `rawBody` (unless
 *   `webhookRawBody: 'app'`), so no raw body would ever be there to check;
 * - a GraphQL field resolver (`@ResolveField()`) declares API-key auth of its own while the GraphQL
 *   module runs no guard on field resolvers (`fieldResolverEnhancers` without `'guards'`, Nest's
 *   default): the field would be answered to any key the operation's root field admitted.
 */
@Injectable()
export class RoutesCheck implements OnModuleInit {
  constructor(
    @Inject(KEYRING) private readonly keyring: Keyring,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly adapterHost: HttpAdapterHost,
    private readonly moduleRef: ModuleRef,
  ) {
    // Before app.init(), which hands the app's `rawBody` option to the adapter. Only signed
    // webhooks need it: other apps' adapters are left untouched.
    if (keyring.webhooks.signed) watchRawBodyOption(adapterHost);
  }

  onModuleInit(): void {
    const signedRoutes: string[] = [];
    for (const { controller, handler, name: where } of appRoutes(this.discovery, this.scanner)) {
      if (isContradictory(routeDeclarations(this.reflector, controller))) throw contradiction(controller.name);
      if (isContradictory(routeDeclarations(this.reflector, handler))) throw contradiction(where);
      const name = webhookSecretNameOf(this.reflector, handler, controller);
      if (name === undefined) continue;
      if (this.keyring.webhooks.secret(name, where).scheme === 'standard-webhooks') signedRoutes.push(where);
    }
    const rawBodyError = rawBodyStartupError(
      this.keyring.webhooks.rawBody,
      rawBodyOption(this.adapterHost),
      signedRoutes,
    );
    if (rawBodyError !== undefined) throw new KeyringConfigError(rawBodyError);
    this.checkFieldResolvers();
  }

  private checkFieldResolvers(): void {
    let enhancers: readonly string[] | undefined;
    try {
      // What @nestjs/graphql names its options and field resolvers' metadata (nothing of it is imported).
      const options = this.moduleRef.get('GqlModuleOptions', { strict: false }) as {
        fieldResolverEnhancers?: string[];
      };
      enhancers = options?.fieldResolverEnhancers ?? [];
    } catch {
      return; // No GraphQL in this app.
    }
    if (enhancers.includes('guards')) return;
    for (const { metatype } of this.discovery.getProviders()) {
      const prototype = typeof metatype === 'function' ? (metatype.prototype as object | undefined) : undefined;
      for (const method of prototype === undefined ? [] : this.scanner.getAllMethodNames(prototype)) {
        const handler = (prototype as Record<string, unknown>)[method] as MetadataTarget;
        if (Reflect.getMetadata('graphql:resolve_property', handler) !== true) continue;
        if (routeDeclarations(this.reflector, handler).apiKey) throw unguardedField(`${metatype!.name}.${method}`);
      }
    }
  }
}

/**
 * The name of the webhook secret a route checks (its own `@WebhookSecret(name)` winning over its
 * controller's; `default` for a bare `WebhookSecretGuard`), or `undefined` when no webhook guard
 * applies to it.
 */
export function webhookSecretNameOf(
  reflector: Reflector,
  handler: MetadataTarget,
  controller: MetadataTarget,
): string | undefined {
  const named = reflector.getAllAndOverride<string | undefined>(WEBHOOK_SECRET_METADATA, [handler, controller]);
  if (named !== undefined) return named;
  // Neither names a secret here, so a webhook declaration is a bare WebhookSecretGuard.
  const guarded = routeDeclarations(reflector, handler).webhook || routeDeclarations(reflector, controller).webhook;
  return guarded ? DEFAULT_WEBHOOK_SECRET_NAME : undefined;
}

function contradiction(where: string): KeyringConfigError {
  return new KeyringConfigError(
    `${where} is both @Public() and protected by an API key ` +
      `(@ApiKeyAuth(), @UseGuards(ApiKeyGuard) or @RequireScopes()). ` +
      'Remove one of them. (A route may override its controller: the nearest declaration wins.)',
  );
}

function unguardedField(where: string): KeyringConfigError {
  return new KeyringConfigError(
    `${where} is a field resolver with @RequireScopes() or @ApiKeyAuth(), but Nest runs no guard on field ` +
      "resolvers unless GraphQLModule's fieldResolverEnhancers includes 'guards': it would be answered to any key. " +
      "Add fieldResolverEnhancers: ['guards'] to the GraphQL module's options, or declare the scope on the query.",
  );
}
