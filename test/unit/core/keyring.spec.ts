import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { checksumOf, hasValidChecksum } from '../../../lib/core/keys/api-key-checksum.js';
import type { ApiKeyRecord } from '../../../lib/core/keys/api-key-record.js';
import { generateApiKey } from '../../../lib/core/keys/api-key-generator.js';
import { Keyring } from '../../../lib/core/keyring.js';

function countingLookup(records: Map<string, ApiKeyRecord> = new Map()) {
  const calls: string[] = [];
  return {
    calls,
    records,
    lookup: {
      findKey: async (key: string) => {
        calls.push(key);
        return records.get(key) ?? null;
      },
    },
  };
}

describe('Keyring with its cache', () => {
  it(
    'keeps the cache at its bound under 100,000 random keys ' + 'and asks the store only for checksum-valid ones',
    async () => {
      const store = countingLookup();
      const keyring = new Keyring({
        lookup: store.lookup,
        cache: { maxEntries: 1000, maxUnknownEntries: 1000 },
        unknownKeyLookups: false,
      });
      let checksumValid = 0;
      let granted = 0;
      for (let i = 0; i < 100_000; i++) {
        // Every 50th key carries a valid checksum (as a scanner of leaked keys might send); the
        // rest are random strings of the same shape.
        const body = `pk_${randomBytes(24).toString('base64url')}`;
        const key = i % 50 === 0 ? body + checksumOf(body) : body;
        if (hasValidChecksum(key)) checksumValid++;
        if ((await keyring.authenticate({ 'x-api-key': key })).ok) granted++;
      }
      expect(granted).toBe(0);
      expect(checksumValid).toBeGreaterThanOrEqual(2000);
      expect(store.calls).toHaveLength(checksumValid);
      expect(store.calls.every(hasValidChecksum)).toBe(true);
      expect(keyring.cacheSize).toBe(1000);
      // A correctness test that happens to loop: generous time on a slow shared machine.
    },
    120_000,
  );

  it('bounds the store load of a flood of forged keys, and keeps serving a cached good key', async () => {
    const good = generateApiKey().key;
    const store = countingLookup(new Map([[good, { id: 'good', tenants: [] }]]));
    const keyring = new Keyring({
      lookup: store.lookup,
      cache: { maxEntries: 50 },
      unknownKeyLookups: { perSecond: 20, burst: 40 },
    });
    expect((await keyring.authenticate({ 'x-api-key': good })).ok).toBe(true);
    const started = Date.now();
    const answers = new Map<string, number>();
    // 2,000 distinct keys with valid checksums: anyone can mint them.
    for (let i = 0; i < 2000; i++) {
      const answer = await keyring.authenticate({ 'x-api-key': generateApiKey().key });
      const reason = answer.ok ? 'granted' : answer.failure.reason;
      answers.set(reason, (answers.get(reason) ?? 0) + 1);
      if (i % 100 === 0) expect((await keyring.authenticate({ 'x-api-key': good })).ok).toBe(true);
    }
    const seconds = (Date.now() - started) / 1000;
    expect(answers.get('granted')).toBeUndefined();
    expect(answers.get('lookup_throttled')).toBeGreaterThan(0);
    // The good key never went back to the store; forged ones only within the budget.
    expect(store.calls.filter((key) => key === good)).toHaveLength(1);
    expect(store.calls.length - 1).toBeLessThanOrEqual(40 + Math.ceil(20 * seconds) + 1);
  });

  it("keeps the budget per client address: one client's forged keys never refuse another's first use", async () => {
    const store = countingLookup();
    const keyring = new Keyring({
      lookup: store.lookup,
      unknownKeyLookups: { perSecond: 1000, burst: 1000, perClientPerSecond: 1, perClientBurst: 5 },
    });
    const reasons: string[] = [];
    for (let i = 0; i < 20; i++) {
      const answer = await keyring.authenticate({ 'x-api-key': generateApiKey().key }, undefined, '192.0.2.1');
      reasons.push(answer.ok ? 'granted' : answer.failure.reason);
    }
    // Its burst of 5, then 1 a second (a slow machine may refill one or two meanwhile).
    expect(reasons.slice(0, 5)).toEqual(Array(5).fill('invalid'));
    expect(reasons.filter((reason) => reason === 'lookup_throttled').length).toBeGreaterThanOrEqual(12);
    const fresh = generateApiKey().key;
    store.records.set(fresh, { id: 'fresh', tenants: [] });
    expect(await keyring.authenticate({ 'x-api-key': fresh }, undefined, '192.0.2.2')).toMatchObject({ ok: true });
    // The same address, written as IPv4-mapped IPv6, is the same client: a new one would have a
    // burst of 5 lookups, this one is throttled within them (whatever a slow machine refilled).
    const mapped: string[] = [];
    for (let i = 0; i < 5; i++) {
      const answer = await keyring.authenticate({ 'x-api-key': generateApiKey().key }, undefined, '::ffff:192.0.2.1');
      mapped.push(answer.ok ? 'granted' : answer.failure.reason);
    }
    expect(mapped).toContain('lookup_throttled');
  });

  it('lets 120 forged keys neither evict a cached good key nor grow the cache past its bounds', async () => {
    const good = generateApiKey().key;
    const store = countingLookup(new Map([[good, { id: 'good', tenants: [] }]]));
    const keyring = new Keyring({ lookup: store.lookup, cache: { maxEntries: 50, maxUnknownEntries: 50 } });
    await keyring.authenticate({ 'x-api-key': good });
    for (let i = 0; i < 120; i++) await keyring.authenticate({ 'x-api-key': generateApiKey().key });
    store.calls.length = 0;
    expect((await keyring.authenticate({ 'x-api-key': good })).ok).toBe(true);
    expect(store.calls).toEqual([]);
    expect(keyring.cacheSize).toBe(51);
  });

  it('hands every request the same frozen record: what one handler does to it, no other request sees', async () => {
    const { key } = generateApiKey();
    const expiresAt = new Date(Date.now() + 60_000);
    const stored = {
      id: 'k',
      tenants: [{ id: 1 }, { id: 2 }],
      scopes: ['read'],
      expiresAt,
      metadata: { plan: { name: 'pro' } },
    };
    const keyring = new Keyring({ lookup: { findKey: async () => stored } });
    const first = await keyring.admit({ 'x-api-key': key });
    if (!first.ok) throw new Error('expected a grant');
    expect(() => (first.record.tenants as unknown[]).reverse()).toThrow(TypeError);
    expect(() => (first.record.scopes as string[]).push('admin')).toThrow(TypeError);
    expect(() => ((first.record.metadata as { plan: { name: string } }).plan.name = 'free')).toThrow(TypeError);
    expect(() => ((first.tenant as { id: number }).id = 99)).toThrow(TypeError);
    // A Date is no plain data: moving it must not extend the key's life.
    expiresAt.setTime(Date.now() - 1);
    (first.record.expiresAt as Date).setTime(Date.now() + 10 * 60_000);
    const second = await keyring.admit({ 'x-api-key': key });
    expect(second).toMatchObject({
      ok: true,
      tenant: { id: 1 },
      record: { scopes: ['read'], metadata: { plan: { name: 'pro' } } },
    });
    // The store's own objects were copied, not frozen.
    expect(Object.isFrozen(stored.tenants)).toBe(false);
  });

  it('refuses a cached key the moment it expires', async () => {
    const { key } = generateApiKey();
    const store = countingLookup(new Map([[key, { id: 'k', tenants: [], expiresAt: Date.now() + 80 }]]));
    const keyring = new Keyring({ lookup: store.lookup });
    expect((await keyring.authenticate({ 'x-api-key': key })).ok).toBe(true);
    await sleep(100);
    expect(await keyring.authenticate({ 'x-api-key': key })).toEqual({ ok: false, failure: { reason: 'expired' } });
    expect(store.calls).toHaveLength(1);
  });

  it('refuses a revoked key on the next request after invalidation, and keeps other keys cached', async () => {
    const revoked = generateApiKey();
    const kept = generateApiKey();
    const store = countingLookup(
      new Map([
        [revoked.key, { id: 'r' }],
        [kept.key, { id: 'k' }],
      ]),
    );
    const keyring = new Keyring({ lookup: store.lookup });
    await keyring.authenticate({ 'x-api-key': revoked.key });
    await keyring.authenticate({ 'x-api-key': kept.key });
    store.records.set(revoked.key, { id: 'r', revoked: true });
    expect((await keyring.authenticate({ 'x-api-key': revoked.key })).ok).toBe(true); // still cached
    keyring.invalidateRecord('r');
    expect(await keyring.authenticate({ 'x-api-key': revoked.key })).toEqual({
      ok: false,
      failure: { reason: 'revoked' },
    });
    expect((await keyring.authenticate({ 'x-api-key': kept.key })).ok).toBe(true);
    expect(store.calls).toEqual([revoked.key, kept.key, revoked.key]);
  });

  it('asks the store on every request with the cache off', async () => {
    const { key } = generateApiKey();
    const store = countingLookup(new Map([[key, { id: 'k' }]]));
    const keyring = new Keyring({ lookup: store.lookup, cache: false });
    for (let i = 0; i < 3; i++) await keyring.authenticate({ 'x-api-key': key });
    expect(store.calls).toHaveLength(3);
    expect(keyring.cacheSize).toBe(0);
  });

  it('sends keys without a checksum to the store with requireChecksum: false', async () => {
    const store = countingLookup(new Map([['pk_legacy_key_01', { id: 'legacy' }]]));
    const strict = new Keyring({ lookup: store.lookup });
    expect(await strict.authenticate({ 'x-api-key': 'pk_legacy_key_01' })).toEqual({
      ok: false,
      failure: { reason: 'invalid', detail: 'its checksum does not match' },
    });
    expect(store.calls).toEqual([]);
    const lenient = new Keyring({ lookup: store.lookup, requireChecksum: false });
    expect(await lenient.authenticate({ 'x-api-key': 'pk_legacy_key_01' })).toMatchObject({
      ok: true,
      record: { id: 'legacy' },
    });
  });
});

describe('Keyring decisions, answered now or later', () => {
  const tenants = [{ id: 1 }, { id: 2 }];

  it('answers a refused header and a cached key synchronously, and asks the store behind a promise', async () => {
    const { key } = generateApiKey();
    const store = countingLookup(new Map([[key, { id: 'k', tenants }]]));
    const keyring = new Keyring({ lookup: store.lookup });
    expect(keyring.admit({})).toEqual({ ok: false, failure: { reason: 'missing' } });
    const first = keyring.admit({ 'x-api-key': key });
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toMatchObject({ ok: true, record: { id: 'k' }, tenant: { id: 1 } });
    // The cache holds it now: no promise, on any decision.
    expect(keyring.authenticate({ 'x-api-key': key })).toMatchObject({ ok: true, record: { id: 'k' } });
    expect(keyring.admit({ 'x-api-key': key, 'x-tenant-id': '2' })).toMatchObject({ ok: true, tenant: { id: 2 } });
    expect(keyring.admit({ 'x-api-key': key, 'x-tenant-id': '3' })).toEqual({
      ok: false,
      failure: { reason: 'tenant_not_found' },
    });
    expect(store.calls).toHaveLength(1);
  });

  it('chooses a tenant synchronously from the record, behind a promise from resolveTenants', async () => {
    const resolved = new Keyring({ lookup: countingLookup().lookup, resolveTenants: async () => tenants });
    const fromRecord = resolved.selectTenant({ id: 'k', tenants: [{ id: 7 }] }, {});
    expect(fromRecord).toEqual({ ok: true, tenant: { id: 7 } });
    const fromResolver = resolved.selectTenant({ id: 'k' }, { 'x-tenant-id': '2' });
    expect(fromResolver).toBeInstanceOf(Promise);
    expect(await fromResolver).toEqual({ ok: true, tenant: { id: 2 } });
    expect(resolved.tenantFor({ apiKey: { id: 'k', tenants: [{ id: 7 }] } }, {})).toEqual({
      ok: true,
      tenant: { id: 7 },
    });
    expect(resolved.tenantFor({}, {})).toEqual({ ok: false, failure: { reason: 'missing' } });
  });
});
