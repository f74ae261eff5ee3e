import type { ApiKeyLookup, ApiKeyRecord, Tenant } from '../keys/api-key-record.js';
import { resolveEnvironments, resolvePrefixes } from '../keys/api-key-format.js';
import { resolveTrustedProxies } from '../lookup/client-address.js';
import { resolveKeyHeaders } from '../admission/credentials.js';
import { resolveErrorFormat, resolveRealm, type ErrorFormat } from '../refusals/error-format.js';
import { checkDuration } from './duration.js';
import { KeyringConfigError } from '../refusals/failure.js';
import { checkHeaderName } from '../admission/headers.js';
import type { InvalidationBus } from '../fleet/invalidation-bus.js';
import { resolveInvalidationBus } from '../fleet/invalidation-relay.js';
import { DEFAULT_LOOKUP_TIMEOUT_MS } from '../lookup/lookup.js';
import { resolveCache, type CacheOptions } from '../lookup/lookup-cache.js';
import { DEFAULT_TENANT_HEADER } from '../tenants/tenant-selection.js';
import { resolveUnknownKeyLookups, type UnknownKeyLookupsOptions } from '../lookup/unknown-key-budget.js';
import { checkBoolean, refuseUnknownOptions } from './option-checks.js';
import { resolveKeySigning } from '../keys/key-signature.js';
import { resolveUsageOptions, type UsageOptions } from '../keys/key-usage.js';
import { resolveRateLimit, type RateLimitOptions } from '../limits/rate-limit.js';
import { resolveWebhookRawBody, type WebhookRawBodySource } from '../webhooks/webhook-raw-body.js';
import { resolveWebhookSecrets, type WebhookSecrets } from '../webhooks/webhook-secrets.js';

/** Options shared by the Nest module and the Express middleware. */
export interface KeyringOptions {
  /**
   * The key store: `findKey(key)` returns the key's record, or `null` for an unknown key.
   * Required.
   */
  lookup: ApiKeyLookup;
  /**
   * Headers a key is read from, lower- or upper-case. `authorization` means
   * `Authorization: Bearer <key>`; any other name carries the bare key.
   * @default ['authorization', 'x-api-key']
   */
  headers?: readonly string[];
  /**
   * Environment name to key prefix. Keys whose prefix matches none are refused without a
   * lookup. `false` turns prefixes off (any well-formed key goes to the lookup).
   * @default { production: 'pk_', staging: 'sk_' }
   */
  keyPrefixes?: Readonly<Record<string, string>> | false;
  /**
   * Environments this deployment accepts; a key of another environment is refused without a
   * lookup. Each must be a name in `keyPrefixes`.
   * @default every environment in `keyPrefixes`
   */
  environments?: readonly string[];
  /**
   * Refuse, without a lookup, keys whose last six characters are not the checksum
   * `generateApiKey()` puts there. `false` accepts keys issued before this scheme (they still go
   * through every other check).
   * @default true
   */
  requireChecksum?: boolean;
  /**
   * Accept keys issued before nest-keyring: no environment prefix and no checksum. The same as
   * `keyPrefixes: false` with `requireChecksum: false`, in one switch; every other check (the
   * lookup, expiry, revocation, scopes, tenants) still applies. Cannot be combined with
   * `keyPrefixes`, `environments` or `requireChecksum`.
   * @default false
   */
  legacyKeys?: boolean;
  /**
   * Secrets that sign keys (`generateApiKey({ signingSecret })`), each at least 32 random
   * characters, the one that signs new keys first; keys signed by any of them verify, so a
   * secret is rotated by adding the new one first and later removing the old one. A key whose
   * signature does not verify is refused in memory: no cache entry, no budget, no store call.
   * See docs/keys.md.
   *
   * @example
   * signingSecrets: [process.env.KEYRING_SIGNING_SECRET]
   */
  signingSecrets?: readonly string[];
  /**
   * With `signingSecrets`: let keys that carry no signature on to the lookup too, while keys
   * issued before signing are in use. `legacyKeys: true` accepts them already.
   * @default false
   */
  acceptUnsignedKeys?: boolean;
  /**
   * In-memory cache of lookup answers (see docs/caching.md); `false` asks the
   * store on every request.
   * @default `DEFAULT_CACHE_OPTIONS`: { maxEntries: 10000, ttlMs: 30000, negativeTtlMs: 5000, … }
   */
  cache?: CacheOptions | false;
  /**
   * Bounds the load made-up keys put on the key store, per client and in all: once the store has
   * answered "unknown key" to a client more often than this, that client's keys the cache does
   * not hold are answered 503 (`Retry-After: 1`) without a lookup until its rate drops; other
   * clients, and cached keys, keep working. Found keys never count. See docs/caching.md.
   * `false` lets every unknown key reach the store.
   * @default { perSecond: 100, burst: 500, perClientPerSecond: 10, perClientBurst: 50 }
   */
  unknownKeyLookups?: UnknownKeyLookupsOptions | false;
  /**
   * Addresses (or CIDR subnets) of the proxies in front of the app. A request whose connection
   * comes from one counts, for `unknownKeyLookups`, as sent by the rightmost `X-Forwarded-For`
   * hop that is not one of them; every other request as sent by its connection's address (its
   * `X-Forwarded-For` is ignored, since anyone can write it).
   * @default [] (no proxy is trusted)
   *
   * @example
   * trustedProxies: ['10.0.0.0/8']
   */
  trustedProxies?: readonly string[];
  /**
   * How refusals are answered: `'cubeconnect'`, `'connexease'` or a function.
   * @default 'cubeconnect'
   */
  errorFormat?: ErrorFormat;
  /**
   * The `realm` named in every `WWW-Authenticate` challenge (`Bearer realm="api"`).
   * @default 'api'
   */
  realm?: string;
  /**
   * How long the lookup may take before the request is answered 503.
   * @default 3000
   */
  lookupTimeoutMs?: number;
  /**
   * Keys act for tenants: every authenticated request gets one (`X-TENANT-ID`, or the key's
   * first tenant), and a key linked to none is refused (403 `API_KEY_NO_TENANT`). `false` for
   * apps without tenants.
   * @default true
   */
  tenancy?: boolean;
  /**
   * The header that names the tenant.
   * @default 'x-tenant-id'
   */
  tenantHeader?: string;
  /**
   * Loads a key's tenants when its record carries no `tenants` field (tenants kept in another
   * table or service). Same timeout and failure handling as `lookup`.
   */
  resolveTenants?: (record: ApiKeyRecord) => Promise<Tenant[]> | Tenant[];
  /**
   * Webhook secrets by name, checked by `WebhookSecretGuard` / `@WebhookSecret(name?)` and
   * `webhookSecretMiddleware`. Each is a secret sent as `Authorization: Bearer <secret>` (at
   * least 32 random characters), a list of them while rotating, or
   * `{ scheme: 'standard-webhooks', secrets }` for signed webhooks. `default` is the name used
   * where none is given.
   *
   * @example
   * { default: process.env.WEBHOOK_SECRET, billing: [process.env.BILLING_OLD, process.env.BILLING_NEW] }
   */
  webhookSecrets?: WebhookSecrets;
  /**
   * Nest only: who keeps the raw body that `scheme: 'standard-webhooks'` signatures are checked
   * against. `'nest'`: Nest's body parser, so the app must be created with
   * `NestFactory.create(AppModule, { rawBody: true })`, and a route that checks a signature
   * fails the start-up otherwise. `'app'`: the app installs its own parser, which sets
   * `req.rawBody` to the body's bytes; the start-up check is skipped. Either way, a signed
   * delivery whose body was not kept is refused like a bad signature (401), and that is logged
   * once as a warning. Only valid with a Standard Webhooks secret configured.
   * @default 'nest'
   */
  webhookRawBody?: WebhookRawBodySource;
  /**
   * Last-used written behind: `onUsed(batch)` receives the keys admitted since the last batch
   * (each at most once, with the time of its last use) every `flushIntervalMs`, and on shutdown
   * (`ApiKeyModule` flushes itself; elsewhere call `keyring.flushUsage()`). See docs/usage.md.
   *
   * @example
   * usage: { onUsed: (batch) => keys.touch(batch), flushIntervalMs: 60_000 }
   */
  usage?: UsageOptions;
  /**
   * Shares cache invalidations between the replicas of an app: `invalidateKey`,
   * `invalidateRecord` and `clearCache` (and `ApiKeyCache`'s) then reach every replica's cache,
   * not only this process's. See docs/replicas.md; `redisInvalidationBus` from
   * `nest-keyring/redis` is one. Needs the cache.
   */
  invalidationBus?: InvalidationBus;
  /**
   * Per-key rate limits, counted after a key is authenticated and its tenant chosen. A key's
   * record may carry its own `rateLimit`; `default` applies to keys whose record has none. Over
   * the limit: 429 `RATE_LIMITED` with `Retry-After`, `RateLimit-Policy` and `RateLimit`.
   * Absent: only records that carry a limit are limited. `false`: no limit at all, records'
   * limits included.
   *
   * @example
   * { default: { limit: 100, windowMs: 60_000 }, store: redisRateLimitStore({ url: process.env.REDIS_URL }) }
   */
  rateLimit?: RateLimitOptions | false;
}

/** Options after defaults and validation; every field is set (`undefined` or `false` where a capability is off). */
export type ResolvedKeyringOptions = ReturnType<typeof resolveKeyringOptions>;

// A record, not a list: the compiler then requires every option of `KeyringOptions` here, so a
// new option cannot be refused as unknown by mistake.
const OPTION_NAMES: Record<keyof KeyringOptions, true> = {
  lookup: true,
  headers: true,
  keyPrefixes: true,
  environments: true,
  requireChecksum: true,
  legacyKeys: true,
  signingSecrets: true,
  acceptUnsignedKeys: true,
  cache: true,
  unknownKeyLookups: true,
  trustedProxies: true,
  errorFormat: true,
  realm: true,
  lookupTimeoutMs: true,
  tenancy: true,
  tenantHeader: true,
  resolveTenants: true,
  webhookSecrets: true,
  webhookRawBody: true,
  usage: true,
  invalidationBus: true,
  rateLimit: true,
};

/** `legacyKeys: true` is `keyPrefixes: false` plus `requireChecksum: false`, and excludes both. */
function applyLegacyKeys(options: KeyringOptions): KeyringOptions {
  if (!checkBoolean('legacyKeys', options.legacyKeys, false)) return options;
  const clashing = (['keyPrefixes', 'environments', 'requireChecksum'] as const).filter(
    (name) => options[name] !== undefined,
  );
  if (clashing.length > 0) {
    throw new KeyringConfigError(
      `\`legacyKeys: true\` already turns prefixes and checksums off; ` +
        `remove ${clashing.map((name) => `\`${name}\``).join(' and ')}.`,
    );
  }
  return { ...options, keyPrefixes: false, requireChecksum: false };
}

/**
 * Applies defaults and checks every option once, at start-up, so that a mistake fails the
 * boot with a message saying what to change rather than the first request.
 *
 * @throws KeyringConfigError
 */
export function resolveKeyringOptions(given: KeyringOptions) {
  if (typeof given !== 'object' || given === null) {
    throw new KeyringConfigError('options are missing: pass at least `{ lookup }`.');
  }
  refuseUnknownOptions(given, Object.keys(OPTION_NAMES));
  const signing = resolveKeySigning(given);
  const options = applyLegacyKeys(given);
  const { lookup } = options;
  if (lookup === undefined || lookup === null) {
    throw new KeyringConfigError(
      'no key lookup configured. Pass `lookup`: an object (or, in Nest, a class) ' +
        'with `findKey(key): Promise<ApiKeyRecord | null>`.',
    );
  }
  if (typeof lookup.findKey !== 'function') {
    throw new KeyringConfigError(
      '`lookup` has no `findKey(key)` method. Give it `async findKey(key) { return record or null }`.',
    );
  }
  const keyPrefixes = resolvePrefixes(options.keyPrefixes);
  const tenancy = checkBoolean('tenancy', options.tenancy, true);
  const { resolveTenants } = options;
  if (resolveTenants !== undefined && typeof resolveTenants !== 'function') {
    throw new KeyringConfigError('`resolveTenants` must be a function `(record) => Promise<Tenant[]>`.');
  }
  const cache = resolveCache(options.cache);
  return {
    lookup,
    headers: resolveKeyHeaders(options.headers),
    keyPrefixes,
    environments: resolveEnvironments(options.environments, keyPrefixes),
    errorFormat: resolveErrorFormat(options.errorFormat),
    lookupTimeoutMs: checkDuration('lookupTimeoutMs', options.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS, {
      positive: true,
    }),
    requireChecksum: checkBoolean('requireChecksum', options.requireChecksum, true),
    cache,
    unknownKeyLookups: resolveUnknownKeyLookups(options.unknownKeyLookups),
    trustedProxies: resolveTrustedProxies(options.trustedProxies),
    realm: resolveRealm(options.realm),
    tenancy,
    tenantHeader: checkHeaderName(options.tenantHeader ?? DEFAULT_TENANT_HEADER, 'tenantHeader'),
    resolveTenants,
    webhookSecrets: resolveWebhookSecrets(options.webhookSecrets),
    webhookRawBody: resolveWebhookRawBody(options.webhookRawBody, options.webhookSecrets),
    usage: resolveUsageOptions(options.usage),
    ...resolveInvalidationBus(options.invalidationBus, cache),
    rateLimit: resolveRateLimit(options.rateLimit, tenancy),
    ...signing,
  };
}
