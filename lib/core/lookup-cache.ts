import { hash, randomBytes } from 'node:crypto';
import { publishCacheHit } from './decision-events.js';
import { invalidationKeyHash } from './invalidation-bus.js';
import type { StoreResult } from './lookup.js';
import type { MaybePromise } from './maybe-async.js';
import type { Failed } from './result.js';

/** The `cache` option. */
export interface CacheOptions {
  /** Most known keys held; the least recently used go first. @default 10000 */
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
}

export type ResolvedCacheOptions = Required<CacheOptions>;

export const DEFAULT_CACHE_OPTIONS: ResolvedCacheOptions = Object.freeze({
  maxEntries: 10_000,
  maxUnknownEntries: 10_000,
  ttlMs: 30_000,
  negativeTtlMs: 5_000,
});

interface Entry<T> {
  value: T;
  expiresAt: number;
  storedAt: number;
  /** `invalidationKeyHash` of the key, kept only when the cache indexes them (an invalidation bus). */
  keyHash: string | undefined;
  recordId: string | undefined;
  /** The placement count when the entry was last put at the recent end of its space. */
  placedAt: number;
}

/** The record id an answer belongs to, or `undefined` for an unknown key. */
export type RecordIdOf<T> = (value: T) => string | undefined;

function recordIdOf(value: unknown): string | undefined {
  const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

/**
 * Remembers what the key store answered, so a slow store costs nothing on the hot path:
 *
 * - bounded (least recently used out first) with one TTL for found keys and a shorter one for
 *   unknown keys; unknown keys live in a bounded space of their own, so a flood of made-up keys
 *   (with valid checksums: the checksum is public) neither grows memory nor evicts a known key;
 * - keyed by a SHA-256 of a per-process random secret and the key: the raw key is never held;
 * - concurrent requests for the same key share one lookup (single flight);
 * - store faults are never cached: the next request asks the store again;
 * - invalidation (by key, by a key's `invalidationKeyHash` or by record id) takes effect on the
 *   very next request, and a lookup that was in flight when it happened is not cached;
 * - `maxAgeMs`, when set (an invalidation bus is down), bounds how long after its lookup an entry
 *   is served, below the TTLs.
 *
 * What is cached is the caller's verdict on the store's answer; the caller checks its expiry on
 * every hit, so caching never extends a key's life past its `expiresAt`.
 */
export class LookupCache<T = unknown> {
  // Known keys (answers with a record id) and unknown keys, each bounded on its own.
  private readonly entries = new Map<string, Entry<T>>();
  private readonly unknownEntries = new Map<string, Entry<T>>();
  private readonly byRecordId = new Map<string, Set<string>>();
  private readonly inflight = new Map<string, { epoch: number; result: Promise<StoreResult<T>> }>();
  // SHA-256 over this random per-process prefix and the key: as unguessable as an HMAC for a map
  // key that never leaves the process, and the raw key is never held. 72 bits in 12 characters:
  // with a key of the default format the input stays within one SHA-256 block.
  private readonly secretPrefix = randomBytes(9).toString('base64');
  // Bumped by every invalidation: answers to lookups started before it are not kept.
  private epoch = 0;
  // Counts placements at the recent end of a space (inserts and moves), for the LRU order.
  private placed = 0;
  // invalidationKeyHash -> digest, for invalidations from other replicas (which never see the key).
  private readonly byKeyHash: Map<string, string> | undefined;
  /**
   * When set, entries looked up longer ago than this are not served (they are looked up again),
   * whatever their TTL. Set while an invalidation bus is down.
   */
  maxAgeMs: number | undefined = undefined;

  /**
   * @param indexKeyHashes keep each entry's `invalidationKeyHash` (computed once per lookup, not
   *   per hit), for `invalidateKeyHash`; only worth its memory with an invalidation bus
   */
  constructor(
    private readonly options: ResolvedCacheOptions,
    private readonly now: () => number = Date.now,
    private readonly answerRecordId: RecordIdOf<T> = recordIdOf,
    indexKeyHashes = false,
  ) {
    this.byKeyHash = indexKeyHashes ? new Map() : undefined;
  }

  /** Keys currently held, known and unknown. */
  get size(): number {
    return this.entries.size + this.unknownEntries.size;
  }

  /**
   * What the cache holds under `id` (from `idOf`), while it is fresh; `undefined` otherwise.
   * The request path asks this first: a hit then costs one hash and one map read.
   */
  get(id: string): T | undefined {
    const entry = this.entries.get(id) ?? this.unknownEntries.get(id);
    if (entry === undefined) return undefined;
    const now = this.now();
    if (entry.expiresAt > now && (this.maxAgeMs === undefined || entry.storedAt + this.maxAgeMs > now)) {
      this.touch(id, entry);
      publishCacheHit(entry.recordId);
      return entry.value;
    }
    this.remove(id);
    return undefined;
  }

  /**
   * The cached answer for `key`, or `load()`'s, shared with concurrent callers. A fresh hit is
   * answered synchronously: the request path then creates no promise (see `MaybePromise`).
   *
   * @param screen checks a key the cache does not hold before it is looked up; its refusal is
   *   answered at once and not cached
   * @param id `idOf(key)`, when the caller has it already
   */
  find(
    key: string,
    load: () => Promise<StoreResult<T>>,
    screen?: () => Failed | undefined,
    id: string = this.idOf(key),
  ): MaybePromise<StoreResult<T>> {
    const held = this.get(id);
    if (held !== undefined) return { ok: true, value: held };
    const pending = this.inflight.get(id);
    if (pending !== undefined && pending.epoch === this.epoch) return pending.result;
    const refused = screen?.();
    if (refused !== undefined) return refused;
    const epoch = this.epoch;
    const result = load().then(
      (answer) => {
        if (this.inflight.get(id)?.result === result) this.inflight.delete(id);
        if (answer.ok && epoch === this.epoch) this.store(id, answer.value, key);
        return answer;
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
    this.entries.clear();
    this.unknownEntries.clear();
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

  /**
   * Moves a hit to the recent end of its space (a Map iterates in insertion order, so the first
   * key is the least recently used). Only once it has drifted a quarter of the bound towards the
   * old end: a hot key then costs no Map delete and set on most hits, and still never nears
   * eviction.
   */
  private touch(id: string, entry: Entry<T>): void {
    const space = this.spaceOf(entry);
    if (this.placed - entry.placedAt <= this.boundOf(entry) >> 2) return;
    space.delete(id);
    entry.placedAt = ++this.placed;
    space.set(id, entry);
  }

  private spaceOf(entry: Entry<T>): Map<string, Entry<T>> {
    return entry.recordId === undefined ? this.unknownEntries : this.entries;
  }

  private boundOf(entry: Entry<T>): number {
    return entry.recordId === undefined ? this.options.maxUnknownEntries : this.options.maxEntries;
  }

  private store(id: string, value: T, key: string): void {
    const recordId = this.answerRecordId(value);
    const ttl = recordId === undefined ? this.options.negativeTtlMs : this.options.ttlMs;
    if (ttl <= 0) return;
    this.remove(id);
    const now = this.now();
    const keyHash = this.byKeyHash === undefined ? undefined : invalidationKeyHash(key);
    const entry: Entry<T> = { value, expiresAt: now + ttl, storedAt: now, keyHash, recordId, placedAt: ++this.placed };
    if (keyHash !== undefined) this.byKeyHash?.set(keyHash, id);
    const space = this.spaceOf(entry);
    space.set(id, entry);
    if (recordId !== undefined) {
      let ids = this.byRecordId.get(recordId);
      if (ids === undefined) this.byRecordId.set(recordId, (ids = new Set()));
      ids.add(id);
    }
    while (space.size > this.boundOf(entry)) this.remove(space.keys().next().value as string);
  }

  private remove(id: string): void {
    const entry = this.entries.get(id) ?? this.unknownEntries.get(id);
    if (entry === undefined) return;
    this.spaceOf(entry).delete(id);
    if (entry.keyHash !== undefined) this.byKeyHash?.delete(entry.keyHash);
    if (entry.recordId === undefined) return;
    const ids = this.byRecordId.get(entry.recordId);
    ids?.delete(id);
    if (ids?.size === 0) this.byRecordId.delete(entry.recordId);
  }
}
