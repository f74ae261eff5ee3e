import { checkAtLeastOne } from '../options/option-checks.js';
import type { RateLimitHit, RateLimitStore } from './rate-limit.js';

/** Options of `MemoryRateLimitStore`. */
export interface MemoryRateLimitStoreOptions {
  /**
   * Counters kept at most. Past it, the counter renewed longest ago is forgotten (its key starts
   * a fresh window), so memory stays bounded whatever the number of keys.
   * @default 100000
   */
  maxEntries?: number;
}

/**
 * The default `RateLimitStore`: fixed windows counted in this process. Right for a single
 * instance; several replicas each count their own share, so share a store between them
 * (`redisRateLimitStore` from `nest-keyring/redis`) for one limit across a fleet.
 *
 * @example
 * new Keyring({ lookup, rateLimit: { default: { limit: 100, windowMs: 60_000 }, store: new MemoryRateLimitStore() } });
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly counters = new Map<string, { count: number; resetAt: number }>();
  private readonly maxEntries: number;

  /** @param now the clock (tests pass their own) */
  constructor(
    options: MemoryRateLimitStoreOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.maxEntries = checkAtLeastOne('MemoryRateLimitStore maxEntries', options.maxEntries ?? 100_000);
  }

  hit(id: string, windowMs: number): RateLimitHit {
    const now = this.now();
    let counter = this.counters.get(id);
    if (counter === undefined || counter.resetAt <= now) {
      // Map order is renewal order: the first entry is the one renewed longest ago, so eviction
      // and expiry cost O(1) and never scan the map.
      if (counter !== undefined) this.counters.delete(id);
      else if (this.counters.size >= this.maxEntries) this.counters.delete(this.counters.keys().next().value!);
      counter = { count: 0, resetAt: now + windowMs };
      this.counters.set(id, counter);
    }
    counter.count += 1;
    return { count: counter.count, resetMs: counter.resetAt - now };
  }

  /** Counters held now, live or expired-but-not-yet-reused. */
  get size(): number {
    return this.counters.size;
  }
}
