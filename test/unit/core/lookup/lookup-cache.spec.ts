import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StoreResult } from '../../../../lib/core/lookup/lookup.js';
import { invalidationKeyHash } from '../../../../lib/core/fleet/invalidation-bus.js';
import { LookupCache } from '../../../../lib/core/lookup/lookup-cache.js';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** A store answering from a map, counting calls. */
function store(records: Record<string, unknown>) {
  const calls: string[] = [];
  return {
    calls,
    load: (key: string) => async (): Promise<StoreResult<unknown>> => {
      calls.push(key);
      return { ok: true, value: records[key] ?? null };
    },
  };
}

/** The record id of a store answer `{ id }`, as the cache indexes it. */
function idOf(value: unknown): string | undefined {
  const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined;
  return id === undefined ? undefined : String(id);
}

const OPTIONS = { maxEntries: 100, maxUnknownEntries: 100, ttlMs: 1000, negativeTtlMs: 100, staleIfThrottledMs: 1000 };

describe('LookupCache', () => {
  it('asks the store once per TTL for a found key', async () => {
    const time = clock();
    const cache = new LookupCache(OPTIONS, idOf, time.now);
    const s = store({ k: { id: 1 } });
    for (let i = 0; i < 5; i++) expect(await cache.find('k', s.load('k'))).toEqual({ ok: true, value: { id: 1 } });
    expect(s.calls).toEqual(['k']);
    time.advance(999);
    await cache.find('k', s.load('k'));
    expect(s.calls).toHaveLength(1);
    time.advance(1);
    await cache.find('k', s.load('k'));
    expect(s.calls).toHaveLength(2);
  });

  it('answers a fresh hit synchronously, and a miss or an expired entry behind a promise', async () => {
    const time = clock();
    const cache = new LookupCache(OPTIONS, idOf, time.now);
    const s = store({ k: { id: 1 } });
    const miss = cache.find('k', s.load('k'));
    expect(miss).toBeInstanceOf(Promise);
    await miss;
    expect(cache.find('k', s.load('k'))).toEqual({ ok: true, value: { id: 1 } });
    time.advance(1000);
    expect(cache.find('k', s.load('k'))).toBeInstanceOf(Promise);
  });

  it('remembers unknown keys for the shorter negative TTL', async () => {
    const time = clock();
    const cache = new LookupCache(OPTIONS, idOf, time.now);
    const s = store({});
    await cache.find('nope', s.load('nope'));
    await cache.find('nope', s.load('nope'));
    expect(s.calls).toHaveLength(1);
    time.advance(100);
    await cache.find('nope', s.load('nope'));
    expect(s.calls).toHaveLength(2);
  });

  it('caches nothing of a kind whose TTL is 0', async () => {
    const cache = new LookupCache({ ...OPTIONS, ttlMs: 0, negativeTtlMs: 0 }, idOf);
    const s = store({ k: { id: 1 } });
    await cache.find('k', s.load('k'));
    await cache.find('k', s.load('k'));
    await cache.find('x', s.load('x'));
    await cache.find('x', s.load('x'));
    expect(s.calls).toEqual(['k', 'k', 'x', 'x']);
    expect(cache.size).toBe(0);
  });

  it('shares one lookup between concurrent callers', async () => {
    const cache = new LookupCache(OPTIONS, idOf);
    let calls = 0;
    const slow = async (): Promise<StoreResult<unknown>> => {
      calls++;
      await sleep(20);
      return { ok: true, value: { id: 'shared' } };
    };
    const answers = await Promise.all(Array.from({ length: 100 }, () => cache.find('k', slow)));
    expect(calls).toBe(1);
    expect(answers.every((answer) => answer.ok && (answer.value as { id: string }).id === 'shared')).toBe(true);
  });

  it('never caches a store fault', async () => {
    const cache = new LookupCache(OPTIONS, idOf);
    let calls = 0;
    const flaky = async (): Promise<StoreResult<unknown>> =>
      ++calls === 1 ? { ok: false, failure: { reason: 'lookup_unavailable' } } : { ok: true, value: { id: 1 } };
    expect((await cache.find('k', flaky)).ok).toBe(false);
    expect(await cache.find('k', flaky)).toEqual({ ok: true, value: { id: 1 } });
    expect(calls).toBe(2);
  });

  it('stays at its bound, dropping the least recently used', async () => {
    const cache = new LookupCache({ ...OPTIONS, maxEntries: 3 }, idOf);
    const s = store({ a: { id: 'a' }, b: { id: 'b' }, c: { id: 'c' }, d: { id: 'd' } });
    for (const key of ['a', 'b', 'c']) await cache.find(key, s.load(key));
    await cache.find('a', s.load('a')); // a is now the most recent
    await cache.find('d', s.load('d')); // b goes
    expect(cache.size).toBe(3);
    s.calls.length = 0;
    for (const key of ['a', 'c', 'd']) await cache.find(key, s.load(key));
    expect(s.calls).toEqual([]);
    await cache.find('b', s.load('b'));
    expect(s.calls).toEqual(['b']);
  });

  it('keeps a key that is used all the time, however many others come and go', async () => {
    const cache = new LookupCache({ ...OPTIONS, maxEntries: 100 }, idOf);
    const records: Record<string, unknown> = { hot: { id: 'hot' } };
    for (let i = 0; i < 1000; i++) records[`cold-${i}`] = { id: `cold-${i}` };
    const s = store(records);
    await cache.find('hot', s.load('hot'));
    for (let i = 0; i < 1000; i++) {
      await cache.find(`cold-${i}`, s.load(`cold-${i}`));
      await cache.find('hot', s.load('hot'));
    }
    expect(s.calls.filter((key) => key === 'hot')).toEqual(['hot']);
    expect(cache.size).toBe(100);
  });

  it('never lets unknown keys push a known key out, and bounds them on their own', async () => {
    const cache = new LookupCache({ ...OPTIONS, maxEntries: 50, maxUnknownEntries: 50 }, idOf);
    const s = store({ good: { id: 'good' } });
    await cache.find('good', s.load('good'));
    // 120 made-up keys (a valid checksum is free to mint): each is a miss the store answers "unknown".
    for (let i = 0; i < 120; i++) await cache.find(`forged-${i}`, s.load(`forged-${i}`));
    expect(cache.size).toBe(51);
    s.calls.length = 0;
    expect(await cache.find('good', s.load('good'))).toEqual({ ok: true, value: { id: 'good' } });
    expect(s.calls).toEqual([]);
    // The most recent unknown keys are still remembered; the oldest went.
    await cache.find('forged-119', s.load('forged-119'));
    await cache.find('forged-0', s.load('forged-0'));
    expect(s.calls).toEqual(['forged-0']);
  });

  it('forgets a key, or every key of a record, at once', async () => {
    const cache = new LookupCache(OPTIONS, idOf);
    const s = store({ k1: { id: 7 }, k2: { id: 7 }, k3: { id: 8 } });
    for (const key of ['k1', 'k2', 'k3']) await cache.find(key, s.load(key));
    cache.invalidateKey('k3');
    cache.invalidateRecord('7'); // ids compare as strings
    s.calls.length = 0;
    for (const key of ['k1', 'k2', 'k3']) await cache.find(key, s.load(key));
    expect(s.calls).toEqual(['k1', 'k2', 'k3']);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('does not keep an answer that was in flight during an invalidation', async () => {
    const cache = new LookupCache(OPTIONS, idOf);
    let answer: { id: number; revoked?: boolean } = { id: 1 };
    let calls = 0;
    const load = async (): Promise<StoreResult<unknown>> => {
      calls++;
      const value = answer;
      await sleep(20);
      return { ok: true, value };
    };
    const inFlight = cache.find('k', load);
    answer = { id: 1, revoked: true };
    cache.invalidateRecord(1);
    // The next request does not join the stale lookup.
    expect(await cache.find('k', load)).toEqual({ ok: true, value: { id: 1, revoked: true } });
    await inFlight;
    expect(await cache.find('k', load)).toEqual({ ok: true, value: { id: 1, revoked: true } });
    expect(calls).toBe(2);
  });

  it('holds no raw key', async () => {
    const cache = new LookupCache(OPTIONS, idOf);
    const key = 'pk_secretvalue123';
    await cache.find(key, store({ [key]: { id: 1 } }).load(key));
    const internals = JSON.stringify([
      ...(cache as unknown as { known: { entries: Map<string, unknown> } }).known.entries.keys(),
    ]);
    expect(internals).not.toContain('secretvalue');
  });
});

describe('LookupCache for an invalidation bus', () => {
  it('forgets a key named by its invalidationKeyHash, and only when it indexes them', async () => {
    for (const indexed of [true, false]) {
      const cache = new LookupCache(OPTIONS, idOf, Date.now, indexed);
      const s = store({ k: { id: 1 }, other: { id: 2 } });
      await cache.find('k', s.load('k'));
      await cache.find('other', s.load('other'));
      cache.invalidateKeyHash(invalidationKeyHash('k'));
      expect(cache.size).toBe(indexed ? 1 : 2);
    }
  });

  it('keeps no hash of a key it no longer holds (eviction, invalidation, clear)', async () => {
    const time = clock();
    const cache = new LookupCache({ ...OPTIONS, maxEntries: 2 }, idOf, time.now, true);
    const index = (cache as unknown as { byKeyHash: Map<string, string> }).byKeyHash;
    const s = store({ a: { id: 1 }, b: { id: 2 }, c: { id: 3 } });
    for (const key of ['a', 'b', 'c']) await cache.find(key, s.load(key));
    expect(index.size).toBe(2);
    time.advance(1_000);
    await cache.find('a', s.load('a')); // evicts the least recently used
    expect(index.size).toBe(cache.size);
    cache.invalidateRecord(1);
    expect(index.size).toBe(cache.size);
    cache.clear();
    expect(index.size).toBe(0);
  });

  it('serves no entry older than maxAgeMs while it is set, whatever the TTL', async () => {
    const time = clock();
    const cache = new LookupCache(OPTIONS, idOf, time.now);
    const s = store({ k: { id: 1 } });
    await cache.find('k', s.load('k'));
    time.advance(300);
    cache.maxAgeMs = 300;
    await cache.find('k', s.load('k'));
    expect(s.calls).toHaveLength(2);
    cache.maxAgeMs = undefined;
    time.advance(900);
    await cache.find('k', s.load('k'));
    expect(s.calls).toHaveLength(2); // the reloaded entry is 900 ms old, its TTL is 1000
  });

  describe('while refreshes are throttled', () => {
    const throttled = async (): Promise<StoreResult<unknown>> => ({
      ok: false,
      failure: { reason: 'lookup_throttled' },
    });

    it("serves a known key's last verdict for staleIfThrottledMs past its TTL, and then no more", async () => {
      const time = clock();
      const cache = new LookupCache({ ...OPTIONS, staleIfThrottledMs: 500 }, idOf, time.now);
      await cache.find('k', store({ k: { id: 1 } }).load('k'));
      time.advance(1000 + 499);
      expect(cache.get(cache.idOf('k'))).toBeUndefined();
      expect(await cache.find('k', throttled)).toEqual({ ok: true, value: { id: 1 } });
      time.advance(1);
      expect(await cache.find('k', throttled)).toEqual({ ok: false, failure: { reason: 'lookup_throttled' } });
      expect(cache.size).toBe(0);
    });

    it('serves no stale verdict for a store fault, an unknown key, or with staleIfThrottledMs 0', async () => {
      const time = clock();
      const cache = new LookupCache(OPTIONS, idOf, time.now);
      await cache.find('k', store({ k: { id: 1 } }).load('k'));
      await cache.find('x', store({}).load('x'));
      time.advance(1000);
      const fault = async (): Promise<StoreResult<unknown>> => ({
        ok: false,
        failure: { reason: 'lookup_unavailable' },
      });
      expect(await cache.find('k', fault)).toMatchObject({ ok: false });
      expect(await cache.find('x', throttled)).toMatchObject({ ok: false });
      const strict = new LookupCache({ ...OPTIONS, staleIfThrottledMs: 0 }, idOf, time.now);
      await strict.find('k', store({ k: { id: 1 } }).load('k'));
      time.advance(1000);
      expect(await strict.find('k', throttled)).toMatchObject({ ok: false });
    });

    it('never serves a verdict that was invalidated: by key, by record, by hash, or all', async () => {
      const time = clock();
      const cache = new LookupCache(OPTIONS, idOf, time.now, true);
      const s = store({ a: { id: 'a' }, b: { id: 'b' }, c: { id: 'c' }, d: { id: 'd' } });
      for (const key of ['a', 'b', 'c']) await cache.find(key, s.load(key));
      time.advance(1000);
      cache.invalidateKey('a');
      cache.invalidateRecord('b');
      cache.invalidateKeyHash(invalidationKeyHash('c'));
      for (const key of ['a', 'b', 'c']) expect(await cache.find(key, throttled)).toMatchObject({ ok: false });
      await cache.find('d', s.load('d'));
      time.advance(1000);
      cache.clear();
      expect(await cache.find('d', throttled)).toMatchObject({ ok: false });
    });

    it('serves nothing older than maxAgeMs (an invalidation bus is down)', async () => {
      const time = clock();
      const cache = new LookupCache(OPTIONS, idOf, time.now);
      await cache.find('k', store({ k: { id: 1 } }).load('k'));
      time.advance(1000);
      cache.maxAgeMs = 1000;
      expect(await cache.find('k', throttled)).toMatchObject({ ok: false });
    });
  });

  it('evicts in constant time, whatever has come and gone before', async () => {
    const cache = new LookupCache({ ...OPTIONS, maxEntries: 1000, ttlMs: 60_000 }, idOf);
    const load = (id: number) => async (): Promise<StoreResult<unknown>> => ({ ok: true, value: { id } });
    const fill = async (from: number, count: number) => {
      const started = performance.now();
      for (let i = from; i < from + count; i++) await cache.find(`k${i}`, load(i));
      return performance.now() - started;
    };
    await fill(0, 2000); // warm up, and leave the table full of deleted entries
    const first = await fill(2000, 20_000);
    const later = await fill(22_000, 20_000);
    expect(cache.size).toBe(1000);
    expect(later).toBeLessThan(first * 3);
  });

  it('counts fresh known keys dropped for room and warns once; expired and unknown keys are not counted', async () => {
    const time = clock();
    const warnings: string[] = [];
    const cache = new LookupCache({ ...OPTIONS, maxEntries: 2, maxUnknownEntries: 2 }, idOf, time.now, false, (line) =>
      warnings.push(line),
    );
    const s = store({ a: { id: 'a' }, b: { id: 'b' }, c: { id: 'c' }, d: { id: 'd' } });
    for (const key of ['x', 'y', 'z']) await cache.find(key, s.load(key));
    await cache.find('a', s.load('a'));
    time.advance(1000); // a is now stale: dropping it costs nothing
    for (const key of ['b', 'c']) await cache.find(key, s.load(key));
    expect(cache.evictions).toBe(0);
    await cache.find('d', s.load('d'));
    await cache.find('a', s.load('a'));
    expect(cache.evictions).toBe(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/cache\.maxEntries: 2\) and dropped a key still in use/);
  });
});
