import { describe, expect, it } from '@jest/globals';
import type { ApiKeyRecord } from '../../../../lib/core/keys/api-key-record.js';
import { createErrorResponder } from '../../../../lib/core/refusals/error-format.js';
import { KeyringConfigError } from '../../../../lib/core/refusals/failure.js';
import { Keyring } from '../../../../lib/core/keyring.js';
import { MemoryRateLimitStore } from '../../../../lib/core/limits/memory-rate-limit-store.js';
import { rateLimitHeaders, resolveRateLimit, type RateLimitStore } from '../../../../lib/core/limits/rate-limit.js';
import { RateLimiter, type RateLimitDecision } from '../../../../lib/core/limits/rate-limiter.js';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const limiter = (option: Parameters<typeof resolveRateLimit>[0], tenancy = true) =>
  new RateLimiter(resolveRateLimit(option, tenancy) as Exclude<ReturnType<typeof resolveRateLimit>, false>);

const record = (rateLimit?: ApiKeyRecord['rateLimit'], id: string | number = 'key-1'): ApiKeyRecord => ({
  id,
  tenants: [{ id: 1 }, { id: 2 }],
  ...(rateLimit !== undefined && { rateLimit }),
});

describe('resolveRateLimit', () => {
  it.each([
    ['a string', 'fast', /`rateLimit` must be an object/],
    [
      'an unknown field',
      { defaults: { limit: 1, windowMs: 1 } },
      /unknown option `rateLimit.defaults`.*`rateLimit.default`/,
    ],
    ['a limit of 0', { default: { limit: 0, windowMs: 1000 } }, /`rateLimit.default` must be \{ limit, windowMs \}/],
    ['a fractional window', { default: { limit: 5, windowMs: 1.5 } }, /`rateLimit.default` must be/],
    ['a string limit', { default: { limit: '5', windowMs: 1000 } }, /`rateLimit.default` must be/],
    ['perTenant not a boolean', { perTenant: 'yes' }, /`rateLimit.perTenant` must be true or false/],
    ['countSocketMessages not a boolean', { countSocketMessages: 0 }, /`rateLimit.countSocketMessages` must be true/],
    ['a store without hit', { store: {} }, /`rateLimit.store` must have a `hit/],
    ['a zero timeout', { timeoutMs: 0 }, /`rateLimit.timeoutMs` must be a number of milliseconds above 0/],
  ])('refuses %s', (_, option, message) => {
    expect(() => resolveRateLimit(option, true)).toThrow(KeyringConfigError);
    expect(() => resolveRateLimit(option, true)).toThrow(message);
  });

  it('refuses perTenant without tenancy', () => {
    expect(() => resolveRateLimit({ perTenant: true }, false)).toThrow(/`rateLimit.perTenant` needs `tenancy`/);
  });

  it('is refused through the Keyring options, naming the fix', () => {
    expect(
      () => new Keyring({ lookup: { findKey: async () => null }, rateLimit: { default: { limit: -1, windowMs: 1 } } }),
    ).toThrow(/`rateLimit.default` must be/);
  });

  it('turns limiting off with false, and has no default without one', () => {
    expect(resolveRateLimit(false, true)).toBe(false);
    expect(resolveRateLimit(undefined, true)).toMatchObject({
      default: undefined,
      perTenant: false,
      timeoutMs: 500,
      countSocketMessages: true,
    });
  });
});

describe('rateLimitHeaders', () => {
  it('writes the IETF structured fields, rounding seconds up', () => {
    expect(
      rateLimitHeaders({ policy: 'default', limit: 100, windowMs: 60_000, remaining: 0, resetMs: 29_001 }),
    ).toEqual({
      'RateLimit-Policy': '"default";q=100;w=60',
      RateLimit: '"default";r=0;t=30',
    });
    expect(rateLimitHeaders({ policy: 'key', limit: 5, windowMs: 500, remaining: 4, resetMs: 500 })).toEqual({
      'RateLimit-Policy': '"key";q=5;w=1',
      RateLimit: '"key";r=4;t=1',
    });
  });

  it('gives a rate_limited refusal 429, RATE_LIMITED and Retry-After in both presets', () => {
    const rateLimit = { policy: 'key' as const, limit: 5, windowMs: 1000, remaining: 0, resetMs: 10 };
    for (const preset of ['cubeconnect', 'connexease'] as const) {
      const answer = createErrorResponder(preset)({ reason: 'rate_limited', rateLimit });
      expect(answer.status).toBe(429);
      expect(answer.body).toEqual({ success: false, error: { code: 'RATE_LIMITED', message: expect.any(String) } });
      expect(answer.headers).toEqual({
        'Retry-After': '1',
        'RateLimit-Policy': '"key";q=5;w=1',
        RateLimit: '"key";r=0;t=1',
      });
    }
  });
});

describe('MemoryRateLimitStore', () => {
  it('counts in fixed windows', () => {
    const time = clock();
    const store = new MemoryRateLimitStore({}, time.now);
    expect(store.hit('a', 1000)).toEqual({ count: 1, resetMs: 1000 });
    time.advance(400);
    expect(store.hit('a', 1000)).toEqual({ count: 2, resetMs: 600 });
    expect(store.hit('b', 1000)).toEqual({ count: 1, resetMs: 1000 });
    time.advance(600);
    expect(store.hit('a', 1000)).toEqual({ count: 1, resetMs: 1000 });
  });

  it('stays within maxEntries under 100,000 counters, forgetting the one renewed longest ago', () => {
    const time = clock();
    const store = new MemoryRateLimitStore({ maxEntries: 1000 }, time.now);
    for (let i = 0; i < 100_000; i++) store.hit(`k${i}`, 60_000);
    expect(store.size).toBe(1000);
    expect(store.hit('k99999', 60_000).count).toBe(2);
    expect(store.hit('k0', 60_000).count).toBe(1);
  });

  it('refuses a bad maxEntries', () => {
    expect(() => new MemoryRateLimitStore({ maxEntries: 0 })).toThrow(KeyringConfigError);
  });
});

describe('RateLimiter', () => {
  const check = (l: RateLimiter, r: ApiKeyRecord, tenant = { id: 1 }) => l.check(r, tenant) as RateLimitDecision;

  it('costs nothing and limits nothing with no default and no record limit', () => {
    const l = limiter(undefined);
    for (let i = 0; i < 100; i++) expect(check(l, record())).toEqual({ ok: true, status: undefined });
  });

  it("applies the record's own limit, else the default; false exempts a key", () => {
    const l = limiter({ default: { limit: 2, windowMs: 60_000 } });
    const own = record({ limit: 1, windowMs: 60_000 }, 'own');
    expect(check(l, own)).toMatchObject({ ok: true, status: { policy: 'key', remaining: 0 } });
    expect(check(l, own)).toMatchObject({
      ok: false,
      failure: { reason: 'rate_limited', rateLimit: { policy: 'key' } },
    });
    const byDefault = record(null, 'default');
    expect(check(l, byDefault)).toMatchObject({ ok: true, status: { policy: 'default', remaining: 1 } });
    expect(check(l, byDefault)).toMatchObject({ ok: true, status: { remaining: 0 } });
    expect(check(l, byDefault).ok).toBe(false);
    const exempt = record(false, 'exempt');
    for (let i = 0; i < 10; i++) expect(check(l, exempt)).toEqual({ ok: true, status: undefined });
  });

  it('counts the key as a whole, or each tenant with perTenant; ids 1 and "1" are one key', () => {
    const whole = limiter({ default: { limit: 1, windowMs: 60_000 } });
    expect(check(whole, record(undefined, 1), { id: 1 }).ok).toBe(true);
    expect(check(whole, record(undefined, '1'), { id: 2 }).ok).toBe(false);
    const perTenant = limiter({ default: { limit: 1, windowMs: 60_000 }, perTenant: true });
    expect(check(perTenant, record(), { id: 1 }).ok).toBe(true);
    expect(check(perTenant, record(), { id: 2 }).ok).toBe(true);
    expect(check(perTenant, record(), { id: 1 }).ok).toBe(false);
  });

  it("counts a key and the keys rolled from it on one counter: the family's, with perTenant by tenant", () => {
    const l = limiter({ default: { limit: 3, windowMs: 60_000 } });
    const first = record(undefined, 'key_1');
    const rolled = { ...record(undefined, 'key_2'), family: 'key_1' };
    const rolledAgain = { ...record(undefined, 'key_3'), family: 'key_1' };
    expect([first, rolled, rolledAgain, rolledAgain, first].map((r) => check(l, r).ok)).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
    // Another family, and a null family (the record's own id), count apart.
    expect(check(l, { ...record(undefined, 'key_9'), family: null }).ok).toBe(true);
    const perTenant = limiter({ default: { limit: 1, windowMs: 60_000 }, perTenant: true });
    expect(check(perTenant, first, { id: 1 }).ok).toBe(true);
    expect(check(perTenant, rolled, { id: 2 }).ok).toBe(true);
    expect(check(perTenant, rolled, { id: 1 }).ok).toBe(false);
  });

  it.each([
    { limit: 'many', windowMs: 1000 },
    { limit: 5, windowMs: 1e16 },
    { limit: 5, windowMs: Number.MAX_SAFE_INTEGER },
    { limit: 5, windowMs: 2 ** 31 },
    { limit: 5, windowMs: 0.5 },
  ])('refuses a record whose limit is %p as a store fault (503), not unlimited', (rateLimit) => {
    const l = limiter(undefined);
    const bad = { ...record(), rateLimit } as unknown as ApiKeyRecord;
    expect(check(l, bad)).toMatchObject({ ok: false, failure: { reason: 'lookup_unavailable' } });
  });

  it('fails open on a store that throws, rejects, hangs or answers nonsense, warning once per outage', async () => {
    let mode: 'throw' | 'reject' | 'hang' | 'nonsense' | 'ok' = 'throw';
    const store: RateLimitStore = {
      hit() {
        if (mode === 'throw') throw new Error('connection refused');
        if (mode === 'reject') return Promise.reject(new Error('socket closed'));
        if (mode === 'hang') return new Promise(() => undefined);
        if (mode === 'nonsense') return Promise.resolve({ count: 'x' } as never);
        return Promise.resolve({ count: 1, resetMs: 1000 });
      },
    };
    const l = limiter({ default: { limit: 5, windowMs: 1000 }, store, timeoutMs: 20 });
    const first = await l.check(record(), { id: 1 });
    expect(first).toMatchObject({ ok: true, status: undefined, warning: expect.stringMatching(/connection refused/) });
    for (const next of ['reject', 'hang', 'nonsense'] as const) {
      mode = next;
      expect(await l.check(record(), { id: 1 })).toEqual({ ok: true, status: undefined });
    }
    mode = 'ok';
    expect(await l.check(record(), { id: 1 })).toMatchObject({ ok: true, status: { remaining: 4 } });
    // A new outage warns again.
    mode = 'hang';
    expect(await l.check(record(), { id: 1 })).toMatchObject({ warning: expect.stringMatching(/within 20 ms/) });
  });
});
