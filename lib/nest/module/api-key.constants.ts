/**
 * Metadata key `@Public()` sets (`true`), namespaced so it cannot collide with an application's
 * own. Read it to make a guard of your own skip the routes nest-keyring leaves open.
 *
 * @example
 * const targets = [context.getHandler(), context.getClass()];
 * const open = this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE_METADATA, targets);
 */
export const PUBLIC_ROUTE_METADATA = 'KEYRING:PUBLIC';

/**
 * Metadata key `@RequireScopes(...scopes)` sets (the scopes, a `string[]`). A controller's and
 * its route's scopes add up.
 *
 * @example
 * const targets = [context.getHandler(), context.getClass()];
 * const scopes = this.reflector.getAllAndMerge<string[]>(REQUIRED_SCOPES_METADATA, targets);
 */
export const REQUIRED_SCOPES_METADATA = 'KEYRING:SCOPES';

/**
 * Metadata key `@WebhookSecret(name)` sets: the name of the secret in `webhookSecrets` a route
 * checks. The route's own name wins over its controller's.
 *
 * @example
 * const targets = [context.getHandler(), context.getClass()];
 * const name = this.reflector.getAllAndOverride<string>(WEBHOOK_SECRET_METADATA, targets) ?? 'default';
 */
export const WEBHOOK_SECRET_METADATA = 'KEYRING:WEBHOOK_SECRET';

/**
 * DI token of the configured `Keyring` (internal: inject it with `@InjectKeyring()`).
 * `Symbol.for` keeps it one token even if an app ends up loading both the ESM and the CommonJS
 * build. Its description is what Nest prints when a module cannot see it, so it says the fix.
 */
export const KEYRING = Symbol.for(
  'Keyring of nest-keyring: import ApiKeyModule.forRoot() (or forRootAsync()) ' +
    'where this is used, or keep isGlobal: true',
);
