import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { checksumOf, hasValidChecksum } from './api-key-checksum.js';
import type { ApiKeyRecord } from './api-key-record.js';
import { generateApiKey } from './api-key-generator.js';
import { Keyring } from './keyring.js';

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
  it('keeps the cache at its bound under 100,000 random keys and asks the store only for checksum-valid ones', async () => {
    const store = countingLookup();
    const keyring = new Keyring({ lookup: store.lookup, cache: { maxEntries: 1000 } });
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
  }, 120_000);

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
    expect(await keyring.authenticate({ 'x-api-key': revoked.key })).toEqual({ ok: false, failure: { reason: 'revoked' } });
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
    expect(await strict.authenticate({ 'x-api-key': 'pk_legacy_key_01' })).toEqual({ ok: false, failure: { reason: 'invalid' } });
    expect(store.calls).toEqual([]);
    const lenient = new Keyring({ lookup: store.lookup, requireChecksum: false });
    expect(await lenient.authenticate({ 'x-api-key': 'pk_legacy_key_01' })).toMatchObject({ ok: true, record: { id: 'legacy' } });
  });
});
