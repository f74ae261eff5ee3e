import { ConfigurableModuleBuilder, type DynamicModule, type ForwardReference, type Type } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from '../access/api-key.guard.js';
import type { ApiKeyLookup } from '../../core/keys/api-key-record.js';
import type { KeyringOptions } from '../../core/options/keyring-options.js';

/**
 * Options of `ApiKeyModule.forRoot()` / the factory of `forRootAsync()`.
 *
 * `lookup` may be an object, or a class: Nest's injector creates the class inside the module,
 * so its constructor can inject providers of global modules or of the module's `imports`.
 */
export interface ApiKeyModuleOptions extends Omit<KeyringOptions, 'lookup'> {
  lookup: ApiKeyLookup | Type<ApiKeyLookup>;
}

/**
 * For `ApiKeyModule.forRootAsync({ useClass })` / `({ useExisting })`: a provider that builds the
 * options.
 */
export interface ApiKeyOptionsFactory {
  createApiKeyOptions(): ApiKeyModuleOptions | Promise<ApiKeyModuleOptions>;
}

/** Module-level settings, given beside the options (in `forRootAsync` too, outside the factory). */
export interface ApiKeyModuleExtras {
  /**
   * Make the module's providers (the guard's dependencies) visible to every module, so
   * `@UseGuards(ApiKeyGuard)` works in feature modules without importing ApiKeyModule again.
   * @default true
   */
  isGlobal?: boolean;
  /**
   * Protect every route of the app, as if each had `@ApiKeyAuth()`: `ApiKeyGuard` is registered
   * app-wide; `@Public()` opts a route or a controller out.
   * @default false
   */
  protectAllRoutes?: boolean;
  /** Modules whose providers a `lookup` class injects (`forRoot`; `forRootAsync` has its own `imports`). */
  imports?: (Type<unknown> | DynamicModule | Promise<DynamicModule> | ForwardReference)[];
}

export const { ConfigurableModuleClass: ConfigurableApiKeyModule, MODULE_OPTIONS_TOKEN: API_KEY_MODULE_OPTIONS } =
  new ConfigurableModuleBuilder<ApiKeyModuleOptions>({ moduleName: 'ApiKey' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createApiKeyOptions')
    .setExtras<ApiKeyModuleExtras>({ isGlobal: true, protectAllRoutes: false, imports: [] }, (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
      // forRootAsync's own `imports` arrive here as well: keep each module once.
      imports: [...new Set([...(definition.imports ?? []), ...(extras.imports ?? [])])],
      providers: extras.protectAllRoutes
        ? [...(definition.providers ?? []), { provide: APP_GUARD, useExisting: ApiKeyGuard }]
        : definition.providers,
    }))
    .build();
