/** Metadata keys, namespaced so they cannot collide with an application's own. */
export const PUBLIC_ROUTE_METADATA = 'KEYRING:PUBLIC';
export const REQUIRED_SCOPES_METADATA = 'KEYRING:SCOPES';

/**
 * DI token of the configured `Keyring` (internal). `Symbol.for` keeps it one token even if
 * an app ends up loading both the ESM and the CommonJS build.
 */
export const KEYRING = Symbol.for('nest-keyring:Keyring');
