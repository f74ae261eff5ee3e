import { Module, type MiddlewareConsumer, type NestModule, type Type } from '@nestjs/common';
import { DiscoveryModule, HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { ApiKeyContext } from '../core/api-key-context.js';
import type { ApiKeyLookup } from '../core/api-key-record.js';
import { KeyringConfigError } from '../core/failure.js';
import { Keyring } from '../core/keyring.js';
import { TenantContext } from '../core/tenant-context.js';
import { ApiKeyCache } from './api-key-cache.service.js';
import { KEYRING } from './api-key.constants.js';
import { API_KEY_MODULE_OPTIONS, ConfigurableApiKeyModule } from './api-key.module-definition.js';
import { ApiKeyRoutesCheck } from './guards/api-key-routes.check.js';
import { ApiKeyGuard } from './guards/api-key.guard.js';
import { WebhookRoutesCheck } from './guards/webhook-routes.check.js';
import { WebhookSecretGuard } from './guards/webhook-secret.guard.js';
import { TenantInterceptor } from './interceptors/tenant.interceptor.js';
import { tenantScopeMiddleware } from './middleware/tenant-scope.middleware.js';
import type { ApiKeyModuleOptions } from './interfaces/index.js';

function isLookupClass(lookup: unknown): lookup is Type<ApiKeyLookup> {
  return typeof lookup === 'function' && typeof (lookup as Type<ApiKeyLookup>).prototype?.findKey === 'function';
}

// Settings of the module itself, given beside `useFactory`; a factory that returns them would
// otherwise see them ignored (and `protectAllRoutes: true` would leave every route open).
const MODULE_SETTINGS = ['protectAllRoutes', 'global', 'isGlobal', 'imports'] as const;

function refuseModuleSettings(options: ApiKeyModuleOptions): void {
  const misplaced = MODULE_SETTINGS.find(
    (name) => typeof options === 'object' && options !== null && Object.hasOwn(options, name),
  );
  if (misplaced === undefined) return;
  throw new KeyringConfigError(
    `\`${misplaced}\` is a setting of the module, not an option: give it beside useFactory, ` +
      `e.g. ApiKeyModule.forRootAsync({ ${misplaced}: ..., useFactory }), not in what the factory returns.`,
  );
}

/** Creates the `Keyring` from the module options; any option error fails the app's start-up. */
async function createKeyring(options: ApiKeyModuleOptions, moduleRef: ModuleRef): Promise<Keyring> {
  refuseModuleSettings(options);
  const lookup = isLookupClass(options?.lookup) ? await moduleRef.create(options.lookup) : options?.lookup;
  return new Keyring({ ...options, lookup: lookup as ApiKeyLookup });
}

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
  // DiscoveryModule: WebhookRoutesCheck scans the app's routes at start-up.
  imports: [DiscoveryModule],
  providers: [
    { provide: KEYRING, inject: [API_KEY_MODULE_OPTIONS, ModuleRef], useFactory: createKeyring },
    { provide: TenantContext, useValue: new TenantContext() },
    { provide: ApiKeyContext, useValue: new ApiKeyContext() },
    ApiKeyGuard,
    TenantInterceptor,
    ApiKeyCache,
    WebhookSecretGuard,
    WebhookRoutesCheck,
    ApiKeyRoutesCheck,
  ],
  exports: [KEYRING, TenantContext, ApiKeyContext, ApiKeyGuard, TenantInterceptor, ApiKeyCache, WebhookSecretGuard],
})
export class ApiKeyModule extends ConfigurableApiKeyModule implements NestModule {
  constructor(private readonly adapterHost: HttpAdapterHost) {
    super();
  }

  /**
   * Opens a request scope around every HTTP request, for `ApiKeyGuard` to fill in with the tenant
   * and the key (`TenantContext`, `ApiKeyContext`; so also with `tenancy` off). Mounted on the
   * platform itself (as `app.use()` does) rather than through `MiddlewareConsumer`, so that it
   * covers every path whatever the route syntax of the Nest version and whatever global prefix
   * or prefix exclusions the app sets. Nest calls `configure` after the platform is initialised
   * and before it registers any route.
   */
  configure(_consumer: MiddlewareConsumer): void {
    const adapter = this.adapterHost.httpAdapter;
    // No HTTP adapter (a microservice or a standalone app): nothing to scope.
    if (adapter === undefined || adapter === null) return;
    adapter.use(tenantScopeMiddleware);
  }
}
