/** Metadata keys, namespaced so they cannot collide with an application's own. */
export const PUBLIC_ROUTE_METADATA = 'KEYRING:PUBLIC';
export const REQUIRED_SCOPES_METADATA = 'KEYRING:SCOPES';

/**
 * DI token of the configured `Keyring` (internal). `Symbol.for` keeps it one token even if
 * an app ends up loading both the ESM and the CommonJS build. Its description is what Nest
 * prints when a module cannot see it, so it says the fix.
 */
export const KEYRING = Symbol.for('Keyring of nest-keyring: import ApiKeyModule.forRoot() (or forRootAsync()) where this is used, or keep isGlobal: true');
