import { checkAtLeastOne, resolveOptionGroup } from '../options/option-checks.js';
import { fail, type Failed } from '../result.js';

/** The `unknownKeyLookups` option: how often the store is asked about keys it does not know. */
export interface UnknownKeyLookupsOptions {
  /** Unknown-key answers the store may give per second, on average, to all clients together. @default 100 */
  perSecond?: number;
  /** How many it may give at once, to all clients together, before the average applies. @default 500 */
  burst?: number;
  /** Unknown-key answers one client (one address) may receive per second, on average. @default 10 */
  perClientPerSecond?: number;
  /** How many one client may receive at once before its average applies. @default 50 */
  perClientBurst?: number;
}

export type ResolvedUnknownKeyLookups = Required<UnknownKeyLookupsOptions>;

export const DEFAULT_UNKNOWN_KEY_LOOKUPS: ResolvedUnknownKeyLookups = Object.freeze({
  perSecond: 100,
  burst: 500,
  perClientPerSecond: 10,
  perClientBurst: 50,
});

/** Checks the `unknownKeyLookups` option at start-up. @throws KeyringConfigError */
export function resolveUnknownKeyLookups(
  option: UnknownKeyLookupsOptions | false | undefined,
): ResolvedUnknownKeyLookups | false {
  const example = '{ perSecond: 100, burst: 500 }';
  const resolved = resolveOptionGroup('unknownKeyLookups', option, DEFAULT_UNKNOWN_KEY_LOOKUPS, example);
  if (resolved === false) return false;
  for (const name of ['perSecond', 'burst', 'perClientPerSecond', 'perClientBurst'] as const)
    checkAtLeastOne(`unknownKeyLookups.${name}`, resolved[name], false);
  return Object.freeze(resolved);
}

// A throttling period ends once no lookup has been refused for this long. A flood that goes on
// refills the bucket a little every few milliseconds, and lets a lookup through each time: those
// do not end the period, so it is logged once, not on every refill. It is also how long a client
// stays known as one that sent unknown keys.
const THROTTLING_QUIET_MS = 10_000;

/** Clients remembered at most (about 100 bytes each): beyond, the store-wide budget decides alone. */
export const MAX_TRACKED_CLIENTS = 10_000;

/** A token bucket: its balance when it was last charged, and when. */
interface Bucket {
  balance: number;
  at: number;
}

/**
 * Bounds the load that made-up keys put on the key store, without letting the clients that make
 * them up lock anyone else out. The checksum is public, so anyone can mint keys that pass every
 * check made before the lookup; each distinct one is a cache miss.
 *
 * Two token buckets, charged only by answers that say "unknown key" (found keys cost nothing, so
 * normal traffic and a cold cache never meet them):
 * - each client's own (`perClientPerSecond`, `perClientBurst`): once spent, that client's keys
 *   the cache does not hold are answered 503 until it refills; other clients are not affected;
 * - the store's (`perSecond`, `burst`): once spent (many clients at once), the clients that were
 *   answered "unknown key" in the last 10–20 s wait too. A client that was not is still looked
 *   up, unless more clients than `MAX_TRACKED_CLIENTS` sent unknown keys lately and it is not
 *   among those remembered: then it cannot be told from them.
 *
 * Clients are remembered in two generations of at most `maxClients` together, replaced every
 * `max(10 s, perClientBurst / perClientPerSecond)`: a client is forgotten only once its bucket is
 * full again, and nothing is ever scanned. Balances may go below zero (lookups already in flight
 * when a bucket ran out).
 */
export class UnknownKeyBudget {
  private readonly store: Bucket;
  private current = new Map<string, Bucket>();
  private previous = new Map<string, Bucket>();
  private rotatedAt: number;
  private readonly generationMs: number;
  // When a lookup was last refused; `undefined` outside a throttling period.
  private throttledAt: number | undefined;

  constructor(
    private readonly options: ResolvedUnknownKeyLookups,
    private readonly now: () => number = Date.now,
    private readonly maxClients = MAX_TRACKED_CLIENTS,
  ) {
    this.rotatedAt = now();
    this.store = { balance: options.burst, at: this.rotatedAt };
    this.generationMs = Math.max(THROTTLING_QUIET_MS, (1000 * options.perClientBurst) / options.perClientPerSecond);
  }

  /**
   * `undefined` when a key the cache does not hold may be looked up now for `client` (see
   * `clientOf`), else the refusal. The first refusal of a throttling period carries a `cause`, so
   * it is logged once, not per request; the period ends after 10 s without a refusal.
   */
  refusal(client: string): Failed | undefined {
    const now = this.rotate();
    if (this.throttledAt !== undefined && now - this.throttledAt >= THROTTLING_QUIET_MS) this.throttledAt = undefined;
    const own = this.current.get(client) ?? this.previous.get(client);
    // Sent unknown keys lately, or cannot be told from those that did.
    const suspect = own !== undefined || this.current.size + this.previous.size >= this.maxClients;
    const storeSpent = this.balance(this.store, now, this.options.perSecond, this.options.burst) <= 0;
    const { perClientPerSecond: rate, perClientBurst: burst } = this.options;
    if (!(suspect && storeSpent) && (own === undefined || this.balance(own, now, rate, burst) > 0)) return undefined;
    const ongoing = this.throttledAt !== undefined;
    this.throttledAt = now;
    if (ongoing) return fail('lookup_throttled');
    return fail('lookup_throttled', {
      cause: new Error(
        `unknown API keys arrive faster than unknownKeyLookups allows (${rate}/s per client, ` +
          `${this.options.perSecond}/s in all); keys not in the cache are answered 503 for the clients ` +
          `sending them until the rate drops`,
      ),
    });
  }

  /** Counts one answer of the store that said "unknown key" to `client`. */
  chargeUnknown(client: string): void {
    const now = this.rotate();
    this.charge(this.store, now, this.options.perSecond, this.options.burst);
    const { perClientPerSecond: rate, perClientBurst: burst } = this.options;
    let own = this.current.get(client);
    if (own === undefined) {
      own = this.previous.get(client);
      if (own !== undefined) this.previous.delete(client);
      else if (this.current.size + this.previous.size < this.maxClients) own = { balance: burst, at: now };
      else return;
      this.current.set(client, own);
    }
    this.charge(own, now, rate, burst);
  }

  private balance(bucket: Bucket, now: number, perSecond: number, burst: number): number {
    return Math.min(burst, bucket.balance + (Math.max(0, now - bucket.at) * perSecond) / 1000);
  }

  private charge(bucket: Bucket, now: number, perSecond: number, burst: number): void {
    bucket.balance = this.balance(bucket, now, perSecond, burst) - 1;
    bucket.at = Math.max(now, bucket.at);
  }

  /** Forgets the generation charged longest ago, when its time is up; answers the time. */
  private rotate(): number {
    const now = this.now();
    if (now - this.rotatedAt < this.generationMs) return now;
    this.previous = now - this.rotatedAt < 2 * this.generationMs ? this.current : new Map();
    this.current = new Map();
    this.rotatedAt = now;
    return now;
  }
}
