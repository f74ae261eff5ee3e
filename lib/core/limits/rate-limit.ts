import { checkDuration, isDuration } from '../options/duration.js';
import { KeyringConfigError } from '../refusals/failure.js';
import type { MaybePromise } from '../maybe-async.js';
import type { RateLimitStatus } from './rate-limit-status.js';

export type { RateLimitStatus };
import { checkBoolean, refuseUnknownOptions } from '../options/option-checks.js';

/**
 * A request budget: at most `limit` requests per fixed window of `windowMs` milliseconds.
 *
 * @example
 * { limit: 100, windowMs: 60_000 } // 100 requests a minute
 */
export interface RateLimit {
  /** Requests allowed per window: a whole number of at least 1. */
  limit: number;
  /** The window's length in milliseconds: a whole number of at least 1. */
  windowMs: number;
}

/** What a store answers for one request: the requests counted in the current window, this one included. */
export interface RateLimitHit {
  /** Requests counted in the current window, this one included. */
  count: number;
  /** Milliseconds until the current window ends and the count starts again from 0. */
  resetMs: number;
}

/**
 * Where request counts live: in memory by default (`MemoryRateLimitStore`), in Redis for a
 * fleet (`redisRateLimitStore` from `nest-keyring/redis`). `hit` counts one request against
 * the counter `id` in a fixed window of `windowMs` (started by the first request the counter
 * sees) and answers the new count. It must be atomic: two requests counted at once get two
 * different counts. `limit` is given so that a store may stop counting past it.
 *
 * A store that throws, rejects or does not answer within `timeoutMs` lets the request through
 * (see `RateLimitOptions.timeoutMs`): a limiter outage must not take the API down.
 */
export interface RateLimitStore {
  hit(id: string, windowMs: number, limit: number): MaybePromise<RateLimitHit>;
  /** Releases what the store holds (a connection); `ApiKeyModule` calls it when the app shuts down. */
  close?(): MaybePromise<void>;
}

/** The `rateLimit` option. */
export interface RateLimitOptions {
  /**
   * The limit for keys whose record has no `rateLimit` of its own (absent or `null`). Without
   * it, only keys whose record carries a limit are limited.
   */
  default?: RateLimit;
  /**
   * Count each tenant a key acts for separately (`X-TENANT-ID`), rather than the key as a
   * whole. Only with `tenancy` on.
   * @default false
   */
  perTenant?: boolean;
  /**
   * Where counts live. Every replica of an API must share one store for the limit to be one
   * limit across them (`redisRateLimitStore` from `nest-keyring/redis`).
   * @default new MemoryRateLimitStore()
   */
  store?: RateLimitStore;
  /**
   * How long the store may take to answer before the request is let through uncounted.
   * @default 500
   */
  timeoutMs?: number;
  /**
   * Count each message of a WebSocket connection as one request, besides its handshake; `false`
   * counts handshakes only.
   * @default true
   */
  countSocketMessages?: boolean;
}

/** The `rateLimit` option after defaults and checks. */
export type ResolvedRateLimitOptions = Exclude<ReturnType<typeof resolveRateLimit>, false>;

/** Whether a value is a usable `{ limit, windowMs }`. */
export function isRateLimit(value: unknown): value is RateLimit {
  if (typeof value !== 'object' || value === null) return false;
  const { limit, windowMs } = value as Record<string, unknown>;
  return Number.isSafeInteger(limit) && (limit as number) >= 1 && isDuration(windowMs, { positive: true, whole: true });
}

/**
 * Checks the `rateLimit` option once, at start-up. A `store` left `undefined`: the keyring makes
 * a `MemoryRateLimitStore` when a limit first applies.
 *
 * @throws KeyringConfigError with the fix
 */
export function resolveRateLimit(option: unknown, tenancy: boolean) {
  if (option === false) return false as const;
  if (option !== undefined && (typeof option !== 'object' || option === null || Array.isArray(option))) {
    throw new KeyringConfigError(
      '`rateLimit` must be an object such as { default: { limit: 100, windowMs: 60000 } }, or false.',
    );
  }
  const given = (option ?? {}) as RateLimitOptions;
  refuseUnknownOptions(given, ['default', 'perTenant', 'store', 'timeoutMs', 'countSocketMessages'], 'rateLimit.');
  const { default: defaultLimit, store, timeoutMs = 500 } = given;
  if (defaultLimit !== undefined && !isRateLimit(defaultLimit)) {
    throw new KeyringConfigError(
      '`rateLimit.default` must be { limit, windowMs } with whole numbers of at least 1 ' +
        `(e.g. { limit: 100, windowMs: 60000 }); got ${JSON.stringify(defaultLimit)}.`,
    );
  }
  const perTenant = checkBoolean('rateLimit.perTenant', given.perTenant, false);
  if (perTenant && !tenancy) {
    throw new KeyringConfigError(
      '`rateLimit.perTenant` needs `tenancy`: with `tenancy: false` a request has no tenant to count by.',
    );
  }
  if (store !== undefined && (typeof store !== 'object' || store === null || typeof store.hit !== 'function')) {
    throw new KeyringConfigError(
      '`rateLimit.store` must have a `hit(id, windowMs, limit)` method, e.g. redisRateLimitStore({ url }).',
    );
  }
  return Object.freeze({
    default: defaultLimit === undefined ? undefined : Object.freeze({ ...defaultLimit }),
    perTenant,
    store,
    timeoutMs: checkDuration('rateLimit.timeoutMs', timeoutMs, { positive: true }),
    countSocketMessages: checkBoolean('rateLimit.countSocketMessages', given.countSocketMessages, true),
  });
}

/** Whole seconds until the window ends, rounded up so that a client waiting that long is admitted. */
export function secondsUntilReset(status: RateLimitStatus): number {
  return Math.max(0, Math.ceil(status.resetMs / 1000));
}

/**
 * The IETF `RateLimit-Policy` and `RateLimit` header fields (draft-ietf-httpapi-ratelimit-headers,
 * structured fields): the policy's quota `q` per window `w` seconds, and what `r` remains of it
 * for `t` seconds more.
 *
 * @example
 * rateLimitHeaders({ policy: 'default', limit: 100, windowMs: 60_000, remaining: 0, resetMs: 29_500 })
 * // { 'RateLimit-Policy': '"default";q=100;w=60', RateLimit: '"default";r=0;t=30' }
 */
export function rateLimitHeaders(status: RateLimitStatus): Record<string, string> {
  const name = `"${status.policy}"`;
  return {
    'RateLimit-Policy': `${name};q=${status.limit};w=${Math.ceil(status.windowMs / 1000)}`,
    RateLimit: `${name};r=${status.remaining};t=${secondsUntilReset(status)}`,
  };
}
