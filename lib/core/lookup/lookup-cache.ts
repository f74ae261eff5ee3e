import { hash, randomBytes } from 'node:crypto';
import { publishCacheHit } from '../admission/decision-events.js';
import { invalidationKeyHash } from '../fleet/invalidation-bus.js';
import type { StoreResult } from './lookup.js';
import type { MaybePromise } from '../maybe-async.js';
import { checkDuration } from '../options/duration.js';
import { checkAtLeastOne, resolveOptionGroup } from '../options/option-checks.js';

/** The `cache` option. */
export interface CacheOptions {
  /**
   * Most known keys held; the least recently used go first. Size it above the keys in use within
   * `ttlMs` (see docs/caching.md, "Sizing"). @default 10000
   */
  maxEntries?: number;
  /**
   * Most unknown keys remembered as unknown, in a space of their own: answers for unknown keys
   * (anyone can mint keys with a valid checksum) never push a known key out of the cache.
   * @default 10000
   */
  maxUnknownEntries?: number;
  /** How long a found key's record is reused, in ms. `0` caches no found key. @default 30000 */
  ttlMs?: number;
  /** How long an unknown key is remembered as unknown, in ms. `0` caches no unknown key. @default 5000 */
  negativeTtlMs?: number;
  /**
   * How long past `ttlMs` a found key's last verdict is still served while `unknownKeyLookups`
   * refuses its refresh (a flood of made-up keys), in ms. Invalidated keys are never served.
   * `0` answers such a key 503. @default 30000
   */
  staleIfThrottledMs?: number;
}

export type ResolvedCacheOptions = Required<CacheOptions>;

export const DEFAULT_CACHE_OPTIONS: ResolvedCacheOptions = Object.freeze({
  maxEntries: 10_000,
  maxUnknownEntries: 10_000,
  ttlMs: 30_000,
  negativeTtlMs: 5_000,
  staleIfThrottledMs: 30_000,
});

/** Checks the `cache` option at start-up. @throws KeyringConfigError */
export function resolveCache(cache: CacheOptions | false | undefined): ResolvedCacheOptions | false {
  const resolved = resolveOptionGroup('cache', cache, DEFAULT_CACHE_OPTIONS, '{ ttlMs: 30000 }');
  if (resolved === false) return false;
  for (const name of ['maxEntries', 'maxUnknownEntries'] as const) checkAtLeastOne(`cache.${name}`, resolved[name]);
  for (const name of ['ttlMs', 'negativeTtlMs', 'staleIfThrottledMs'] as const)
    checkDuration(`cache.${name}`, resolved[name]);
  return Object.freeze(resolved);
}

/** A place in a space's circular recency list: from the head, `next` runs from most to least recently used. */
interface Links {
  next: Links;
  prev: Links;
}

interface Entry<T> extends Links {
  id: string;
  value: T;
  expiresAt: number;
  storedAt: number;
  /** `invalidationKeyHash` of the key, kept only when the cache indexes them (an invalidation bus). */
  keyHash: string | undefined;
  recordId: string | undefined;
}

/** Known or unknown keys: a map to read, and the head of a recency list to evict from in O(1). */
interface Space<T> extends Links {
  entries: Map<string, Entry<T>>;
  bound: number;
}

function space<T>(bound: number): Space<T> {
  const head = { entries: new Map(), bound } as Space<T>;
  head.next = head.prev = head;
  return head;
}

function unlink(links: Links): void {
  links.prev.next = links.next;
  links.next.prev = links.prev;
}

function linkFirst(head: Links, links: Links): void {
  links.prev = head;
  links.next = head.next;
  head.next.prev = links;
  head.next = links;
}

/**
 * Remembers what the key store answered, so a slow store costs nothing on the hot path:
 *
 * - bounded (least recently used out first, in O(1)) with one TTL for found keys and a shorter
 *   one for unknown keys; unknown keys live in a bounded space of their own, so a flood of made-up
 *   keys (with valid checksums: the checksum is public) neither grows memory nor evicts a known key;
 * - keyed by a SHA-256 of a per-process random secret and the key: the raw key is never held;
 * - concurrent requests for the same key share one lookup (single flight);
 * - store faults are never cached: the next request asks the store again;
 * - a found key's verdict is kept `staleIfThrottledMs` past its TTL, and served only when the
 *   refresh is refused as `lookup_throttled`;
 * - invalidation (by key, by a key's `invalidationKeyHash` or by record id) takes effect on the
 *   very next request, stale verdicts included, and a lookup that was in flight when it happened
 *   is not cached;
 * - `maxAgeMs`, when set (an invalidation bus is down), bounds how long after its lookup an entry
 *   is served, below the TTLs.
 *
 * What is cached is the caller's verdict on the store's answer; the caller checks its expiry on
 * every hit, so caching never extends a key's life past its `expiresAt`.
 */
export class LookupCache<T = unknown> {
  // Known keys (answers with a record id) and unknown keys, each bounded on its own.
  private readonly known: Space<T>;
  private readonly unknown: Space<T>;
  private readonly byRecordId = new Map<string, Set<string>>();
  private readonly inflight = new Map<string, { epoch: number; result: Promise<StoreResult<T>> }>();
  // SHA-256 over this random per-process prefix and the key: as unguessable as an HMAC for a map
  // key that never leaves the process, and the raw key is never held. 72 bits in 12 characters:
  // with a key of the default format the input stays within one SHA-256 block.
  private readonly secretPrefix = randomBytes(9).toString('base64');
  // Bumped by every invalidation: answers to lookups started before it are not kept.
  private epoch = 0;
  // invalidationKeyHash -> digest, for invalidations from other replicas (which never see the key).
  private readonly byKeyHash: Map<string, string> | undefined;
  /** Known keys dropped for room while still fresh: more keys are in use than `maxEntries`. */
  evictions = 0;
  /**
   * When set, entries looked up longer ago than this are not served (they are looked up again),
   * whatever their TTL. Set while an invalidation bus is down.
   */
  maxAgeMs: number | undefined = undefined;

  /**
   * @param answerRecordId the record id an answer belongs to, or `undefined` for an unknown key
   * @param indexKeyHashes keep each entry's `invalidationKeyHash` (computed once per lookup, not
   *   per hit), for `invalidateKeyHash`; only worth its memory with an invalidation bus
   * @param warn told once, the first time a fresh known key is dropped for room
   */
  constructor(
    private readonly options: ResolvedCacheOptions,
    private readonly answerRecordId: (value: T) => string | undefined,
    private readonly now: () => number = Date.now,
    indexKeyHashes = false,
    private readonly warn: (message: string) => void = () => undefined,
  ) {
    this.byKeyHash = indexKeyHashes ? new Map() : undefined;
    this.known = space(options.maxEntries);
    this.unknown = space(options.maxUnknownEntries);
  }

  /** Keys currently held, known and unknown (stale verdicts included). */
  get size(): number {
    return this.known.entries.size + this.unknown.entries.size;
  }

  /**
   * What the cache holds under `id` (from `idOf`), while it is fresh; `undefined` otherwise.
   * The request path asks this first: a hit then costs one hash, one map read and moving the
   * entry to the front of its list, and allocates nothing.
   */
  get(id: string): T | undefined {
    const entry = this.known.entries.get(id) ?? this.unknown.entries.get(id);
    if (entry === undefined) return undefined;
    const now = this.now();
    if (entry.expiresAt > now && this.young(entry, now)) {
      const head = this.spaceOf(entry);
      if (head.next !== entry) {
        unlink(entry);
        linkFirst(head, entry);
      }
      publishCacheHit(entry.recordId);
      return entry.value;
    }
    if (this.stale(entry, now) === undefined) this.remove(id);
    return undefined;
  }

  /**
   * The cached answer for `key`, or `load()`'s, shared with concurrent callers. A fresh hit is
   * answered synchronously: the request path then creates no promise (see `MaybePromise`). When
   * `load()` answers `lookup_throttled`, a known key's stale verdict (see `staleIfThrottledMs`)
   * is answered instead.
   *
   * @param id `idOf(key)`, when the caller has it already
   */
  find(key: string, load: () => Promise<StoreResult<T>>, id: string = this.idOf(key)): MaybePromise<StoreResult<T>> {
    const held = this.get(id);
    if (held !== undefined) return { ok: true, value: held };
    const pending = this.inflight.get(id);
    if (pending !== undefined && pending.epoch === this.epoch) return pending.result;
    const epoch = this.epoch;
    const result = load().then(
      (answer): StoreResult<T> => {
        if (this.inflight.get(id)?.result === result) this.inflight.delete(id);
        if (answer.ok) {
          if (epoch === this.epoch) this.store(id, answer.value, key);
          return answer;
        }
        const entry = answer.failure.reason === 'lookup_throttled' ? this.known.entries.get(id) : undefined;
        const stale = entry && this.stale(entry, this.now());
        return stale === undefined ? answer : { ok: true, value: stale };
      },
      (error: unknown) => {
        if (this.inflight.get(id)?.result === result) this.inflight.delete(id);
        throw error;
      },
    );
    this.inflight.set(id, { epoch, result });
    return result;
  }

  /** Forgets one key; the next request with it asks the store. */
  invalidateKey(key: string): void {
    this.epoch++;
    const id = this.idOf(key);
    this.remove(id);
    this.inflight.delete(id);
  }

  /** Forgets the key whose `invalidationKeyHash` this is (sent by another replica). */
  invalidateKeyHash(keyHash: string): void {
    this.epoch++;
    const id = this.byKeyHash?.get(keyHash);
    if (id !== undefined) this.remove(id);
  }

  /** Forgets every key whose record has this id (e.g. after revoking it). */
  invalidateRecord(recordId: string | number): void {
    this.epoch++;
    for (const id of [...(this.byRecordId.get(String(recordId)) ?? [])]) this.remove(id);
  }

  /** Forgets everything. */
  clear(): void {
    this.epoch++;
    for (const head of [this.known, this.unknown]) {
      head.entries.clear();
      head.next = head.prev = head;
    }
    this.byRecordId.clear();
    this.byKeyHash?.clear();
    this.inflight.clear();
  }

  /**
   * The id the cache holds a key's answer under: SHA-256 over the per-process secret and the
   * key, so the key itself is never held. One-shot hashing (no Hash object per call) and a
   * 'binary' (latin1) string, one character per byte, keep it cheap on the request path.
   */
  idOf(key: string): string {
    return hash('sha256', this.secretPrefix + key, 'binary');
  }

  /** Not past `maxAgeMs`, when that is set. */
  private young(entry: Entry<T>, now: number): boolean {
    return this.maxAgeMs === undefined || entry.storedAt + this.maxAgeMs > now;
  }

  /** A known key's verdict past its TTL by less than `staleIfThrottledMs`, else `undefined`. */
  private stale(entry: Entry<T>, now: number): T | undefined {
    const servable = entry.expiresAt + this.options.staleIfThrottledMs > now && this.young(entry, now);
    return entry.recordId !== undefined && servable ? entry.value : undefined;
  }

  private spaceOf(entry: Entry<T>): Space<T> {
    return entry.recordId === undefined ? this.unknown : this.known;
  }

  private store(id: string, value: T, key: string): void {
    const recordId = this.answerRecordId(value);
    const ttl = recordId === undefined ? this.options.negativeTtlMs : this.options.ttlMs;
    if (ttl <= 0) return;
    this.remove(id);
    const now = this.now();
    const keyHash = this.byKeyHash === undefined ? undefined : invalidationKeyHash(key);
    const head = recordId === undefined ? this.unknown : this.known;
    const entry = { id, value, expiresAt: now + ttl, storedAt: now, keyHash, recordId, next: head, prev: head };
    if (keyHash !== undefined) this.byKeyHash?.set(keyHash, id);
    head.entries.set(id, entry);
    linkFirst(head, entry);
    if (recordId !== undefined) {
      let ids = this.byRecordId.get(recordId);
      if (ids === undefined) this.byRecordId.set(recordId, (ids = new Set()));
      ids.add(id);
    }
    if (head.entries.size > head.bound) this.evict(head.prev as Entry<T>, now);
  }

  /** Drops the least recently used entry for room; warns the first time a fresh known key goes. */
  private evict(entry: Entry<T>, now: number): void {
    this.remove(entry.id);
    if (entry.recordId === undefined || entry.expiresAt <= now || this.evictions++ > 0) return;
    this.warn(
      `the API key cache is full (cache.maxEntries: ${this.options.maxEntries}) and dropped a key still in use: ` +
        'more keys are in use than it holds, and each one it drops is looked up again. Raise cache.maxEntries ' +
        '(see "Sizing" in docs/caching.md).',
    );
  }

  private remove(id: string): void {
    const entry = this.known.entries.get(id) ?? this.unknown.entries.get(id);
    if (entry === undefined) return;
    this.spaceOf(entry).entries.delete(id);
    unlink(entry);
    if (entry.keyHash !== undefined) this.byKeyHash?.delete(entry.keyHash);
    if (entry.recordId === undefined) return;
    const ids = this.byRecordId.get(entry.recordId);
    ids?.delete(id);
    if (ids?.size === 0) this.byRecordId.delete(entry.recordId);
  }
}
