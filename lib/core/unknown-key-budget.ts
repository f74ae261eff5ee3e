import { fail, type Failed } from './result.js';

/** The `unknownKeyLookups` option: how many lookups of unknown keys the store is asked per second. */
export interface UnknownKeyLookupsOptions {
  /** Unknown-key answers the store may give per second, on average. @default 100 */
  perSecond?: number;
  /** How many it may give at once before the average applies. @default 500 */
  burst?: number;
}

export type ResolvedUnknownKeyLookups = Required<UnknownKeyLookupsOptions>;

export const DEFAULT_UNKNOWN_KEY_LOOKUPS: ResolvedUnknownKeyLookups = Object.freeze({ perSecond: 100, burst: 500 });

/**
 * Bounds the load that made-up keys put on the key store. The checksum is public, so anyone can
 * mint keys that pass every check made before the lookup; each distinct one is a cache miss.
 *
 * A token bucket charged only by answers that say "unknown key": found keys cost nothing, so
 * normal traffic (and a cold cache after a deploy) never meets the bound. Once unknown keys have
 * spent the budget, a key the cache does not hold is answered 503 with `Retry-After` instead of
 * reaching the store, until the budget refills; keys the cache holds are served as before. The
 * balance may go below zero (lookups already in flight when it ran out), so over any period the
 * store answers at most `burst + perSecond × seconds` unknown keys, plus one wave of requests
 * in flight.
 */
// A throttling period ends once no lookup has been refused for this long. A flood that goes on
// refills the bucket a little every few milliseconds, and lets a lookup through each time: those
// do not end the period, so it is logged once, not on every refill.
const THROTTLING_QUIET_MS = 10_000;

export class UnknownKeyBudget {
  private balance: number;
  private updatedAt: number;
  // When a lookup was last refused; `undefined` outside a throttling period.
  private throttledAt: number | undefined;

  constructor(
    private readonly options: ResolvedUnknownKeyLookups,
    private readonly now: () => number = Date.now,
  ) {
    this.balance = options.burst;
    this.updatedAt = now();
  }

  /**
   * `undefined` when a key the cache does not hold may be looked up now, else the refusal. The
   * first refusal of a throttling period carries a `cause`, so it is logged once, not per request;
   * the period ends after 10 s without a refusal.
   */
  refusal(): Failed | undefined {
    const now = this.refill();
    if (this.throttledAt !== undefined && now - this.throttledAt >= THROTTLING_QUIET_MS) this.throttledAt = undefined;
    if (this.balance > 0) return undefined;
    const ongoing = this.throttledAt !== undefined;
    this.throttledAt = now;
    if (ongoing) return fail('lookup_throttled');
    const { perSecond } = this.options;
    return fail('lookup_throttled', {
      cause: new Error(
        `unknown API keys arrive faster than unknownKeyLookups allows (${perSecond}/s); ` +
          `keys not in the cache are answered 503 until the rate drops`,
      ),
    });
  }

  /** Counts one answer of the store that said "unknown key". */
  chargeUnknown(): void {
    this.refill();
    this.balance -= 1;
  }

  /** Adds what the time since the last call earned; answers the time. */
  private refill(): number {
    const now = this.now();
    const elapsed = now - this.updatedAt;
    if (elapsed <= 0) return now;
    this.updatedAt = now;
    this.balance = Math.min(this.options.burst, this.balance + (elapsed * this.options.perSecond) / 1000);
    return now;
  }
}
