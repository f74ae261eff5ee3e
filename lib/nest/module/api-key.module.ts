import {
  Inject,
  Logger,
  Module,
  type BeforeApplicationShutdown,
  type MiddlewareConsumer,
  type NestModule,
  type OnApplicationShutdown,
  type Type,
} from '@nestjs/common';
import { DiscoveryModule, HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { ApiKeyContext } from '../../core/context/api-key-context.js';
import type { ApiKeyLookup } from '../../core/keys/api-key-record.js';
import { KeyringConfigError } from '../../core/refusals/failure.js';
import { Keyring } from '../../core/keyring.js';
import { enteredScopesStayInTheirCallback, TenantContext } from '../../core/context/tenant-context.js';
import { ApiKeyCache } from './api-key-cache.service.js';
import { KEYRING } from './api-key.constants.js';
import { API_KEY_MODULE_OPTIONS, ConfigurableApiKeyModule } from './api-key.module-definition.js';
import type { ApiKeyModuleOptions } from './api-key.module-definition.js';
import { ApiKeyGuard } from '../access/api-key.guard.js';
import { RoutesCheck } from './routes.check.js';
import { WebhookSecretGuard } from '../webhooks/webhook-secret.guard.js';
import { TenantInterceptor } from '../access/tenant.interceptor.js';
import { tenantScopeMiddleware } from '../access/nest-middleware.js';
import { GraphqlIntrospectionCheck } from '../transports/graphql-introspection.js';

// Settings of the module itself, given beside `useFactory`; a factory that returns them would
// otherwise see them ignored (and `protectAllRoutes: true` would leave every route open).
const MODULE_SETTINGS = ['protectAllRoutes', 'isGlobal', 'imports'] as const;

function isLookupClass(lookup: unknown): lookup is Type<ApiKeyLookup> {
  return typeof lookup === 'function' && typeof (lookup as Type<ApiKeyLookup>).prototype?.findKey === 'function';
}

/** Creates the `Keyring` from the module options; any option error fails the app's start-up. */
async function createKeyring(options: ApiKeyModuleOptions, moduleRef: ModuleRef): Promise<Keyring> {
  const misplaced = MODULE_SETTINGS.find(
    (name) => typeof options === 'object' && options !== null && Object.hasOwn(options, name),
  );
  if (misplaced !== undefined) {
    throw new KeyringConfigError(
      `\`${misplaced}\` is a setting of the module, not an option: give it beside useFactory, ` +
        `e.g. ApiKeyModule.forRootAsync({ ${misplaced}: ..., useFactory }), not in what the factory returns.`,
    );
  }
  const lookup = isLookupClass(options?.lookup) ? await moduleRef.create(options.lookup) : options?.lookup;
  // `usage` warnings go to Nest's logger unless the app gives its own.
  const usage =
    typeof options?.usage === 'object' && options.usage !== null && !Object.hasOwn(options.usage, 'logger')
      ? { ...options.usage, logger: new Logger('ApiKeyModule') }
      : options?.usage;
  return new Keyring(
    { ...options, lookup: lookup as ApiKeyLookup, ...(usage === undefined ? {} : { usage }) },
    { logger: new Logger('InvalidationBus') },
  );
}

// The module's providers that apps inject too.
const SERVICES = [ApiKeyGuard, TenantInterceptor, ApiKeyCache, WebhookSecretGuard, GraphqlIntrospectionCheck];

/**
 * API-key authentication for a Nest app.
 *
 * @example
 * ApiKeyModule.forRoot({ lookup: { findKey: (key) => keys.findByKey(key) } })
 *
 * @example
 * ApiKeyModule.forRootAsync({
 *   imports: [DatabaseModule],
 *   inject: [KeyRepository],
 *   useFactory: (keys: KeyRepository) => ({ lookup: keys, errorFormat: 'connexease' }),
 *   protectAllRoutes: true,
 * })
 */
@Module({
  // DiscoveryModule: RoutesCheck scans the app's routes at start-up.
  imports: [DiscoveryModule],
  providers: [
    { provide: KEYRING, inject: [API_KEY_MODULE_OPTIONS, ModuleRef], useFactory: createKeyring },
    { provide: TenantContext, useValue: new TenantContext() },
    { provide: ApiKeyContext, useValue: new ApiKeyContext() },
    ...SERVICES,
    RoutesCheck,
  ],
  exports: [KEYRING, TenantContext, ApiKeyContext, ...SERVICES],
})
export class ApiKeyModule
  extends ConfigurableApiKeyModule
  implements NestModule, BeforeApplicationShutdown, OnApplicationShutdown
{
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(KEYRING) private readonly keyring: Keyring,
  ) {
    super();
  }

  /**
   * Opens a request scope around every HTTP request, for `ApiKeyGuard` to fill in with the tenant
   * and the key (`TenantContext`, `ApiKeyContext`; so also with `tenancy` off), on Node versions
   * whose `AsyncLocalStorage` needs it (see `enteredScopesStayInTheirCallback`). Mounted on the
   * platform itself (as `app.use()` does) rather than through `MiddlewareConsumer`, so that it
   * covers every path whatever the route syntax of the Nest version and whatever global prefix
   * or prefix exclusions the app sets. Nest calls `configure` after the platform is initialised
   * and before it registers any route.
   */
  configure(_consumer: MiddlewareConsumer): void {
    const adapter = this.adapterHost.httpAdapter;
    // No HTTP adapter (a microservice or a standalone app): nothing to scope. Where the guard can
    // enter its request's scope safely (Node 24 and later), requests that never meet the guard
    // (public routes) pay nothing.
    if (adapter !== undefined && adapter !== null && !enteredScopesStayInTheirCallback)
      adapter.use(tenantScopeMiddleware);
  }

  /**
   * Hands last-used times (`usage`) to the store before the app's own shutdown hooks run, while
   * the store is still open...
   */
  beforeApplicationShutdown(): Promise<void> {
    return this.keyring.flushUsage();
  }

  /**
   * ...and again once the HTTP server has stopped, for the requests that were still running.
   * Then stops listening to the `invalidationBus` and closes it, and closes the rate-limit store
   * (each closes only the connections it opened, never a client the app gave it). Never throws:
   * shutting down goes on.
   */
  async onApplicationShutdown(): Promise<void> {
    await this.keyring.flushUsage();
    this.keyring.close();
    const { invalidationBus, rateLimit } = this.keyring.options;
    try {
      await invalidationBus?.close?.();
    } catch (error) {
      new Logger('InvalidationBus').warn(`closing the invalidation bus failed: ${String(error)}`);
    }
    try {
      if (rateLimit !== false) await rateLimit.store?.close?.();
    } catch (error) {
      new Logger('ApiKeyModule').warn(`Closing the rate-limit store failed: ${String(error)}`);
    }
  }
}
