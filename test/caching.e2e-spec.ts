import { afterEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ApiKeyCache, ApiKeyModule, generateApiKey, type ApiKeyModuleOptions, type Keyring } from '../lib/index.js';
import { KEYRING } from '../lib/nest/module/api-key.constants.js';
import { DelayedStore } from './fixtures/in-memory-lookup.js';
import { MeController } from './fixtures/me-controller.js';
import { ADAPTERS, createTestApp, type AdapterName, type TestApp } from './fixtures/test-app.js';

describe.each(ADAPTERS)('lookup cache on %s', (adapter: AdapterName) => {
  let test: TestApp | undefined;
  afterEach(async () => {
    await test?.close();
    test = undefined;
  });

  async function start(options: Partial<ApiKeyModuleOptions> = {}) {
    const store = new DelayedStore(30);
    test = await createTestApp(adapter, {
      imports: [ApiKeyModule.forRoot({ lookup: store, ...options })],
      controllers: [MeController],
    });
    const key = generateApiKey().key;
    store.records.set(key, { id: 'cached-key', tenants: [{ id: 1 }] });
    return { store, key, server: test.app.getHttpServer(), cache: test.app.get(ApiKeyCache) };
  }

  it('asks the store once for repeated requests within the TTL', async () => {
    const { store, key, server } = await start();
    for (let i = 0; i < 5; i++) expect((await request(server).get('/me').set('X-API-KEY', key)).status).toBe(200);
    expect(store.calls).toEqual([key]);
    expect(test!.handlers.calls).toHaveLength(5);
  });

  it('makes one lookup for 100 concurrent requests with a new key', async () => {
    const { store, key } = await start();
    await test!.app.listen(0, '127.0.0.1');
    const url = await test!.app.getUrl();
    const responses = await Promise.all(
      Array.from({ length: 100 }, () => request(url).get('/me').set('X-API-KEY', key)),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(100).fill(200));
    expect(store.calls).toHaveLength(1);
  });

  it('refuses a revoked key on the very next request after ApiKeyCache.invalidateRecord', async () => {
    const { store, key, server, cache } = await start();
    expect((await request(server).get('/me').set('X-API-KEY', key)).status).toBe(200);
    store.records.set(key, { id: 'cached-key', tenants: [{ id: 1 }], revoked: true });
    // Until this process hears of it, the cached answer stands (for at most cache.ttlMs).
    expect((await request(server).get('/me').set('X-API-KEY', key)).status).toBe(200);
    cache.invalidateRecord('cached-key');
    test!.handlers.calls.length = 0;
    const refused = await request(server).get('/me').set('X-API-KEY', key);
    expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 401, code: 'INVALID_API_KEY' });
    expect(test!.handlers.calls).toEqual([]);
  });

  it('refuses a revoked key on the next request after ApiKeyCache.invalidateKey', async () => {
    const { store, key, server, cache } = await start();
    await request(server).get('/me').set('X-API-KEY', key);
    store.records.delete(key);
    cache.invalidateKey(key);
    const refused = await request(server).get('/me').set('X-API-KEY', key);
    expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 401, code: 'INVALID_API_KEY' });
    expect(test!.handlers.calls).toEqual(['me']);
  });

  it('never caches a store fault: the request after recovery succeeds', async () => {
    const { store, key, server } = await start();
    store.failNext = true;
    const failed = await request(server).get('/me').set('X-API-KEY', key);
    expect({ status: failed.status, code: failed.body.error.code }).toEqual({
      status: 503,
      code: 'KEY_STORE_UNAVAILABLE',
    });
    expect(test!.handlers.calls).toEqual([]);
    expect((await request(server).get('/me').set('X-API-KEY', key)).status).toBe(200);
    expect(store.calls).toHaveLength(2);
  });

  it('says once, and counts, when more keys are in use than the cache holds', async () => {
    const { store, server } = await start({ cache: { maxEntries: 2 } });
    const keys = ['a', 'b', 'c'].map((id) => {
      const { key } = generateApiKey();
      store.records.set(key, { id, tenants: [{ id: 1 }] });
      return key;
    });
    for (let round = 0; round < 2; round++)
      for (const key of keys) expect((await request(server).get('/me').set('X-API-KEY', key)).status).toBe(200);
    // Three keys take turns in a cache of two: every request is a miss, and each drops a key in use.
    expect(store.calls).toHaveLength(6);
    expect(test!.app.get<Keyring>(KEYRING).cacheEvictions).toBe(4);
    const warnings = test!.logger.lines.filter((line) => line.includes('cache.maxEntries: 2'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^warn .*more keys are in use than it holds/);
  });

  it('asks the store every time with cache: false', async () => {
    const { store, key, server } = await start({ cache: false });
    for (let i = 0; i < 3; i++) await request(server).get('/me').set('X-API-KEY', key);
    expect(store.calls).toHaveLength(3);
  });

  it('accepts keys issued without a checksum only with requireChecksum: false', async () => {
    const { store, server } = await start();
    store.records.set('pk_issued_before_checksums', { id: 'legacy', tenants: [{ id: 1 }] });
    const refused = await request(server).get('/me').set('X-API-KEY', 'pk_issued_before_checksums');
    expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 401, code: 'INVALID_API_KEY' });
    expect(store.calls).toEqual([]);
    await test!.close();
    const lenient = await start({ requireChecksum: false });
    lenient.store.records.set('pk_issued_before_checksums', { id: 'legacy', tenants: [{ id: 1 }] });
    const granted = await request(lenient.server).get('/me').set('X-API-KEY', 'pk_issued_before_checksums');
    expect(granted.status).toBe(200);
    expect(granted.body).toEqual({ id: 'legacy' });
  });
});
