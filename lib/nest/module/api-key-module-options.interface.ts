import type { Type } from '@nestjs/common';
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
