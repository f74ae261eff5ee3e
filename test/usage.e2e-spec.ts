import { afterEach, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { ApiKeyModule, generateApiKey, type ApiKeyRecord, type KeyUsage } from '../lib/index.js';
import { type UsageOptions } from '../lib/express.js';
import { MeController } from './fixtures/me-controller.js';
import { ADAPTERS, createTestApp, type AdapterName, type TestApp } from './fixtures/test-app.js';

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

// Last-used written behind (`usage`) in a Nest app: batches on shutdown, and a store that fails
// never reaching a request.
describe.each(ADAPTERS)('usage on %s', (adapter: AdapterName) => {
  let test: TestApp | undefined;
  afterEach(async () => {
    await test?.close();
    test = undefined;
    expect(unhandled).toEqual([]);
  });

  const keys = [generateApiKey().key, generateApiKey().key];
  const records = new Map<string, ApiKeyRecord>([
    [keys[0]!, { id: 'key_a', tenants: [{ id: 1 }] }],
    [keys[1]!, { id: 'key_b', tenants: [{ id: 1 }] }],
  ]);

  async function start(usage: UsageOptions) {
    test = await createTestApp(adapter, {
      imports: [ApiKeyModule.forRoot({ lookup: { findKey: async (key) => records.get(key) ?? null }, usage })],
      controllers: [MeController],
    });
    return test;
  }
  const me = (app: TestApp, key: string) => request(app.app.getHttpServer()).get('/me').set('X-API-KEY', key);

  it('hands the keys used to onUsed once each, on shutdown, and nothing while requests run', async () => {
    const batches: KeyUsage[][] = [];
    const app = await start({ onUsed: (batch) => void batches.push([...batch]) });
    for (const key of [keys[0]!, keys[1]!, keys[0]!, keys[0]!]) expect((await me(app, key)).status).toBe(200);
    const refused = await me(app, generateApiKey().key);
    expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 401, code: 'INVALID_API_KEY' });
    expect(batches).toEqual([]);

    await app.close();
    test = undefined;
    expect(batches).toHaveLength(1);
    expect(batches[0]!.map((used) => used.recordId).sort()).toEqual(['key_a', 'key_b']);
    expect(batches[0]!.every((used) => used.lastUsedAt instanceof Date)).toBe(true);
    expect(app.handlers.calls).toEqual(['me', 'me', 'me', 'me']);
  });

  // A failing store is retried each interval; a hung one is called once, never again while it hangs.
  it.each<[string, UsageOptions['onUsed'], 'once' | 'again']>([
    [
      'throws',
      () => {
        throw new Error('disk full');
      },
      'again',
    ],
    ['rejects', () => Promise.reject(new Error('disk full')), 'again'],
    ['hangs', () => new Promise<void>(() => {}), 'once'],
  ])('serves every request while onUsed %s, and warns once through Nest', async (_, onUsed, called) => {
    let calls = 0;
    const counted: UsageOptions['onUsed'] = (batch) => {
      calls++;
      return onUsed(batch);
    };
    const app = await start({ onUsed: counted, flushIntervalMs: 20, timeoutMs: 30 });
    for (let round = 0; round < 5; round++) {
      const response = await me(app, keys[round % 2]!);
      expect({ status: response.status, body: response.body }).toEqual({
        status: 200,
        body: { id: round % 2 === 0 ? 'key_a' : 'key_b' },
      });
      // Several intervals pass: several failed batches, or one call that hangs through them all.
      await sleep(60);
    }
    expect(app.handlers.calls).toHaveLength(5);
    expect(calls === 1 ? 'once' : 'again').toBe(called);
    const warnings = app.logger.lines.filter((line) => line.startsWith('warn'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /\[nest-keyring\] usage\.onUsed (threw|rejected with|took longer than 30 ms \(no batch is sent until it answers\))/,
    );
    expect(warnings[0]).toContain('ApiKeyModule');
    for (const key of keys) expect(warnings[0]).not.toContain(key);
  });
});
