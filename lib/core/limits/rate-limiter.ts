import type { ApiKeyRecord, Tenant } from '../keys/api-key-record.js';
import { withTimeout } from '../options/duration.js';
import { isPending, type MaybePromise } from '../maybe-async.js';
import { MemoryRateLimitStore } from './memory-rate-limit-store.js';
import {
  isRateLimit,
  type RateLimit,
  type RateLimitHit,
  type RateLimitStatus,
  type RateLimitStore,
  type ResolvedRateLimitOptions,
} from './rate-limit.js';
import { fail, type Result } from '../result.js';

/**
 * What the limiter decided for one admitted request: within its limit (`status` says where it
 * stands, `undefined` when no limit applies or the store failed), or `rate_limited`.
 * `warning` is set on the first request of a store outage only: adapters log it once.
 */
export type RateLimitDecision = Result<{ status: RateLimitStatus | undefined; warning?: string }>;

const NOT_LIMITED: RateLimitDecision = Object.freeze({ ok: true, status: undefined });

/**
 * Counts an admitted request against its key's limit: the record's own `rateLimit`, else the
 * `rateLimit.default` option; `rateLimit: false` on a record exempts that key. Keys of one
 * family (a key and the keys rolled from it) share one count. It runs after
 * authentication and tenant choice, so a forged or refused key never reaches the store.
 *
 * Fails open: a store that throws, rejects, answers nonsense or takes longer than `timeoutMs`
 * lets the request through uncounted, and the first such request of an outage carries a
 * warning. A limiter is a guard against overuse, not against intruders: its outage must not
 * become the API's.
 */
export class RateLimiter {
  private store: RateLimitStore | undefined;
  // A record's counter id, built once: a cached record is the same frozen object on every request.
  private readonly counters = new WeakMap<ApiKeyRecord, string>();
  private failing = false;

  constructor(private readonly options: ResolvedRateLimitOptions) {}

  /** Whether any limit applies to the record's key: without one, admission skips the limiter. */
  applies(record: ApiKeyRecord): boolean {
    const own = record.rateLimit;
    return own === undefined || own === null ? this.options.default !== undefined : own !== false;
  }

  check(record: ApiKeyRecord, tenant: Tenant | undefined): MaybePromise<RateLimitDecision> {
    const own = record.rateLimit;
    if (own === false) return NOT_LIMITED;
    const limit = own ?? this.options.default;
    if (limit === undefined) return NOT_LIMITED;
    // Bad data in the key store (the default is checked at start-up): refused as a store fault
    // (503, logged) rather than served with no limit in silence.
    if (!isRateLimit(limit)) {
      return fail('lookup_unavailable', {
        cause: new TypeError(
          `the record of key ${String(record.id)} has a rateLimit that is not { limit, windowMs } ` +
            'with whole numbers of at least 1 (nor null or false)',
        ),
      });
    }
    const policy = own === undefined || own === null ? 'default' : 'key';
    const store = (this.store ??= this.options.store ?? new MemoryRateLimitStore());
    // Counted on the key's family (its record's id unless rolled; see `ApiKeyRecord.family`), with
    // `perTenant` on the tenant's id, and on the window's length, so that a changed limit starts a
    // fresh counter rather than inheriting a window of another length.
    let counter = this.counters.get(record);
    if (counter === undefined) {
      counter = `${limit.windowMs}:${JSON.stringify(String(record.family ?? record.id))}`;
      this.counters.set(record, counter);
    }
    const id =
      this.options.perTenant && tenant !== undefined ? `${counter}:${JSON.stringify(String(tenant.id))}` : counter;
    let hit: MaybePromise<RateLimitHit>;
    try {
      hit = store.hit(id, limit.windowMs, limit.limit);
    } catch (error) {
      return this.storeFailed(error);
    }
    if (!isPending(hit)) return this.judge(hit, limit, policy);
    const { timeoutMs } = this.options;
    return withTimeout(hit, timeoutMs, () => new Error(`it did not answer within ${timeoutMs} ms`)).then(
      (answered) => this.judge(answered, limit, policy),
      (error: unknown) => this.storeFailed(error),
    );
  }

  private judge(hit: RateLimitHit, limit: RateLimit, policy: RateLimitStatus['policy']): RateLimitDecision {
    const { count, resetMs } = (hit ?? {}) as Partial<RateLimitHit>;
    if (typeof count !== 'number' || !Number.isFinite(count) || typeof resetMs !== 'number' || Number.isNaN(resetMs)) {
      return this.storeFailed(new TypeError('the rate-limit store answered something other than { count, resetMs }'));
    }
    this.failing = false;
    const status: RateLimitStatus = {
      policy,
      limit: limit.limit,
      windowMs: limit.windowMs,
      remaining: Math.max(0, limit.limit - count),
      resetMs: Math.min(Math.max(0, resetMs), limit.windowMs),
    };
    return count > limit.limit ? fail('rate_limited', { rateLimit: status }) : { ok: true, status };
  }

  private storeFailed(error: unknown): RateLimitDecision {
    if (this.failing) return NOT_LIMITED;
    this.failing = true;
    const cause = error instanceof Error ? error.message : String(error);
    return {
      ok: true,
      status: undefined,
      warning:
        `Rate-limit store failed (${cause}); requests are let through without a limit ` +
        'until it answers again. Logged once per outage.',
    };
  }
}
