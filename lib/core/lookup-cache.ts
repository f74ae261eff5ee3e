import { hash, randomBytes } from 'node:crypto';
import { publishCacheHit } from './decision-events.js';
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
 * - invalidation (by key or by record id) takes effect on the very next request, and a lookup
 *   that was in flight when it happened is not cached.
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
  // key that never leaves the process, and the raw key is never held.
  private readonly secretPrefix = randomBytes(32).toString('base64');
  // Bumped by every invalidation: answers to lookups started before it are not kept.
  private epoch = 0;
  // Counts placements at the recent end of a space (inserts and moves), for the LRU order.
  private placed = 0;

  constructor(
    private readonly options: ResolvedCacheOptions,
    private readonly now: () => number = Date.now,
    private readonly idOf: RecordIdOf<T> = recordIdOf,
  ) {}

  /** Keys currently held, known and unknown. */
  get size(): number {
    return this.entries.size + this.unknownEntries.size;
  }

  /**
   * The cached answer for `key`, or `load()`'s, shared with concurrent callers. A fresh hit is
   * answered synchronously: the request path then creates no promise (see `MaybePromise`).
   *
   * @param screen checks a key the cache does not hold before it is looked up; its refusal is
   *   answered at once and not cached
   */
  find(
    key: string,
    load: () => Promise<StoreResult<T>>,
    screen?: () => Failed | undefined,
  ): MaybePromise<StoreResult<T>> {
    const id = this.digest(key);
    const entry = this.entries.get(id) ?? this.unknownEntries.get(id);
    if (entry !== undefined) {
      if (entry.expiresAt > this.now()) {
        this.touch(id, entry);
        publishCacheHit(entry.recordId);
        return { ok: true, value: entry.value };
      }
      this.remove(id);
    }
    const pending = this.inflight.get(id);
    if (pending !== undefined && pending.epoch === this.epoch) return pending.result;
    const refused = screen?.();
    if (refused !== undefined) return refused;
    const epoch = this.epoch;
    const result = load().then(
      (answer) => {
        if (this.inflight.get(id)?.result === result) this.inflight.delete(id);
        if (answer.ok && epoch === this.epoch) this.store(id, answer.value);
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
    const id = this.digest(key);
    this.remove(id);
    this.inflight.delete(id);
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
    this.inflight.clear();
  }

  private digest(key: string): string {
    // One-shot hashing: no Hash or Hmac object per call, several times cheaper on the request path.
    return hash('sha256', this.secretPrefix + key, 'base64');
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

  private store(id: string, value: T): void {
    const recordId = this.idOf(value);
    const ttl = recordId === undefined ? this.options.negativeTtlMs : this.options.ttlMs;
    if (ttl <= 0) return;
    this.remove(id);
    const entry: Entry<T> = { value, expiresAt: this.now() + ttl, recordId, placedAt: ++this.placed };
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
    if (entry.recordId === undefined) return;
    const ids = this.byRecordId.get(entry.recordId);
    ids?.delete(id);
    if (ids?.size === 0) this.byRecordId.delete(entry.recordId);
  }
}
