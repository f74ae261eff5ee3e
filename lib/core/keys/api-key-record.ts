import type { RateLimit } from '../limits/rate-limit.js';

/**
 * A tenant a key is linked to. Only `id` is read by nest-keyring; anything else the lookup
 * returns travels along to `@CurrentTenant()`.
 */
export interface Tenant {
  id: string | number;
  [field: string]: unknown;
}

/**
 * What a key lookup returns for a known key. The record never needs to hold the key itself.
 *
 * @example
 * { id: 'key_1', tenants: [{ id: 123 }], scopes: ['messages:send'], environment: 'production' }
 */
export interface ApiKeyRecord {
  /** Stable identifier of the key (not the key). */
  id: string | number;
  /** Tenants the key may act for, in the order the first one is the default. */
  tenants?: Tenant[];
  /** Scopes granted to the key, checked by `@RequireScopes()`. */
  scopes?: string[];
  /** When the key stops working. A `Date`, an ISO string or epoch milliseconds. */
  expiresAt?: Date | string | number | null;
  /** A revoked key is refused even if the lookup still returns it. */
  revoked?: boolean;
  /** The key's environment as stored; when present it must agree with the key's prefix. */
  environment?: string;
  /**
   * The key's own rate limit, e.g. `{ limit: 100, windowMs: 60_000 }`. Absent or `null`: the
   * `rateLimit.default` option applies (no limit without one). `false`: this key is not limited.
   */
  rateLimit?: RateLimit | null | false;
  /**
   * The id of the record this key's line began with: `planKeyRoll` sets it on rolled keys. Keys
   * of one family share one rate-limit count, so rolling never multiplies what a holder may do in
   * a window. Absent or `null`: the record's own `id`.
   */
  family?: string | number | null;
  /** Free-form data for the application. */
  metadata?: Record<string, unknown>;
}

/**
 * The pluggable key store. `findKey` receives the key exactly as the client sent it (after
 * header parsing and format checks) and returns its record, or `null` when the key is unknown.
 * Throwing (or rejecting) means the store is unavailable: the request is answered 503.
 */
export interface ApiKeyLookup {
  findKey(key: string): Promise<ApiKeyRecord | null | undefined>;
}
