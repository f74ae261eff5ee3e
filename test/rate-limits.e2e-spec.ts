import { afterEach, describe, expect, it } from '@jest/globals';
import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import express from 'express';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import {
  ApiKeyAuth,
  ApiKeyModule,
  ApiKeyNestMiddleware,
  generateApiKey,
  Keyring,
  planKeyRoll,
  type ApiKeyRecord,
  type KeyringOptions,
} from '../lib/index.js';
import { apiKeyMiddleware } from '../lib/express.js';
import { createTestApp } from './fixtures/test-app.js';
import { routesController } from './fixtures/routes-controller.js';

const hostNames = ['nest-express', 'nest-fastify', 'express-middleware', 'nest-middleware-and-guard'] as const;
type HostName = (typeof hostNames)[number];

interface Host {
  server: Server;
  handlers: string[];
  logs: string[];
  close(): Promise<void>;
}

const LimitedController = routesController(
  'LimitedController',
  '',
  [{ method: 'GET', path: 'limited', answer: 'id' }],
  [ApiKeyAuth()],
);

// The middleware admits the request, then the guard on the same route sees that admission:
// the request must be counted once, not twice.
@Module({ controllers: [LimitedController] })
class MiddlewareAndGuardModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(ApiKeyNestMiddleware).forRoutes(LimitedController);
  }
}

async function startHost(name: HostName, options: KeyringOptions): Promise<Host> {
  if (name === 'express-middleware') {
    const keyring = new Keyring(options);
    const handlers: string[] = [];
    const logs: string[] = [];
    const logger = {
      error: (line: string) => logs.push(`error ${line}`),
      warn: (line: string) => logs.push(`warn ${line}`),
    };
    const app = express();
    app.get('/limited', apiKeyMiddleware(keyring, { logger }), (req, res) => {
      handlers.push('limited');
      res.json({ id: (req as { apiKey?: ApiKeyRecord }).apiKey?.id });
    });
    const server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    return { server, handlers, logs, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }
  const test = await createTestApp(name === 'nest-fastify' ? 'fastify' : 'express', {
    imports: [
      ApiKeyModule.forRoot(options),
      ...(name === 'nest-middleware-and-guard' ? [MiddlewareAndGuardModule] : []),
    ],
    controllers: name === 'nest-middleware-and-guard' ? [] : [LimitedController],
  });
  return {
    server: test.app.getHttpServer(),
    handlers: test.handlers.calls,
    logs: test.logger.lines,
    close: () => test.close(),
  };
}

/** A key store in a Map; the keys are real keys with checksums. */
function keyStore(records: Record<string, Omit<ApiKeyRecord, 'id'>>) {
  const keys: Record<string, string> = {};
  const byKey = new Map<string, ApiKeyRecord>();
  for (const [id, record] of Object.entries(records)) {
    const key = generateApiKey().key;
    keys[id] = key;
    byKey.set(key, { id, ...record });
  }
  return { keys, lookup: { findKey: async (key: string) => byKey.get(key) ?? null } };
}

describe.each(hostNames)('rate limits on %s', (hostName) => {
  let host: Host | undefined;
  afterEach(async () => {
    await host?.close();
    host = undefined;
  });

  const get = (key: string, headers: Record<string, string | string[]> = {}) =>
    request(host!.server)
      .get('/limited')
      .set({ Authorization: `Bearer ${key}`, ...headers });

  it('answers the 6th request of a window 429 RATE_LIMITED with Retry-After and RateLimit headers', async () => {
    const store = keyStore({ a: { tenants: [{ id: 1 }] } });
    host = await startHost(hostName, { lookup: store.lookup, rateLimit: { default: { limit: 5, windowMs: 60_000 } } });
    for (let i = 0; i < 5; i++) {
      const ok = await get(store.keys.a!);
      expect(ok.status).toBe(200);
      expect(ok.headers['ratelimit-policy']).toBe('"default";q=5;w=60');
      expect(ok.headers.ratelimit).toMatch(new RegExp(`^"default";r=${4 - i};t=(60|59)$`));
      expect(ok.headers['retry-after']).toBeUndefined();
    }
    const refused = await get(store.keys.a!);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ success: false, error: { code: 'RATE_LIMITED', message: expect.any(String) } });
    expect(refused.headers['retry-after']).toMatch(/^(60|59)$/);
    expect(refused.headers['ratelimit-policy']).toBe('"default";q=5;w=60');
    expect(refused.headers.ratelimit).toMatch(/^"default";r=0;t=(60|59)$/);
    expect(refused.headers['www-authenticate']).toBeUndefined();
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    // The handler did not run for the 6th.
    expect(host.handlers).toHaveLength(5);
    expect(host.logs.filter((line) => /^(warn|error)/.test(line))).toEqual([]);
  });

  it('carries RATE_LIMITED in the connexease preset too', async () => {
    const store = keyStore({ a: { tenants: [{ id: 1 }], rateLimit: { limit: 1, windowMs: 60_000 } } });
    host = await startHost(hostName, { lookup: store.lookup, errorFormat: 'connexease' });
    expect((await get(store.keys.a!)).status).toBe(200);
    const refused = await get(store.keys.a!);
    expect([refused.status, refused.body.error.code]).toEqual([429, 'RATE_LIMITED']);
  });

  it('admits again once the window has passed', async () => {
    const store = keyStore({ a: { tenants: [{ id: 1 }] } });
    host = await startHost(hostName, { lookup: store.lookup, rateLimit: { default: { limit: 1, windowMs: 300 } } });
    expect((await get(store.keys.a!)).status).toBe(200);
    const refused = await get(store.keys.a!);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    await sleep(350);
    expect((await get(store.keys.a!)).status).toBe(200);
    expect(host.handlers).toHaveLength(2);
  });

  it("counts two keys apart; a record's own limit beats the default, and rateLimit: false exempts a key", async () => {
    const store = keyStore({
      a: { tenants: [{ id: 1 }] },
      b: { tenants: [{ id: 1 }] },
      own: { tenants: [{ id: 1 }], rateLimit: { limit: 3, windowMs: 60_000 } },
      exempt: { tenants: [{ id: 1 }], rateLimit: false },
    });
    host = await startHost(hostName, { lookup: store.lookup, rateLimit: { default: { limit: 1, windowMs: 60_000 } } });
    expect((await get(store.keys.a!)).status).toBe(200);
    expect((await get(store.keys.a!)).status).toBe(429);
    expect((await get(store.keys.b!)).status).toBe(200);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(store.keys.own!)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    for (let i = 0; i < 5; i++) {
      const exempt = await get(store.keys.exempt!);
      expect(exempt.status).toBe(200);
      expect(exempt.headers.ratelimit).toBeUndefined();
    }
  });

  it('counts each tenant apart with perTenant', async () => {
    const store = keyStore({ a: { tenants: [{ id: 1 }, { id: 'org-b' }] } });
    host = await startHost(hostName, {
      lookup: store.lookup,
      rateLimit: { default: { limit: 2, windowMs: 60_000 }, perTenant: true },
    });
    const tenant = (id: string) => get(store.keys.a!, { 'X-TENANT-ID': id });
    expect((await tenant('1')).status).toBe(200);
    expect((await get(store.keys.a!)).status).toBe(200); // the first tenant, by default
    expect((await tenant('1')).status).toBe(429);
    expect((await tenant('org-b')).status).toBe(200);
    expect((await tenant('org-b')).status).toBe(200);
    expect((await tenant('org-b')).status).toBe(429);
  });

  it('never counts a refused request: forged keys, repeated headers, a tenant the key does not have', async () => {
    const store = keyStore({ a: { tenants: [{ id: 1 }] } });
    host = await startHost(hostName, { lookup: store.lookup, rateLimit: { default: { limit: 2, windowMs: 60_000 } } });
    const key = store.keys.a!;
    const forged = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    for (let i = 0; i < 5; i++) {
      expect((await get(forged)).status).toBe(401);
      const repeated = await request(host.server)
        .get('/limited')
        .set({ 'X-API-KEY': [key, key] });
      expect(repeated.status).toBe(401);
      expect((await get(key, { 'X-TENANT-ID': '999' })).status).toBe(403);
    }
    expect((await get(key)).status).toBe(200);
    expect((await get(key)).status).toBe(200);
    expect((await get(key)).status).toBe(429);
    expect(host.handlers).toHaveLength(2);
  });

  it('counts a key and the keys rolled from it as one: 5 per window across three keys, then 429', async () => {
    const byKey = new Map<string, ApiKeyRecord>();
    const first: ApiKeyRecord = {
      id: 'key_1',
      tenants: [{ id: 1 }],
      environment: 'production',
      rateLimit: { limit: 5, windowMs: 60_000 },
    };
    const firstKey = generateApiKey().key;
    byKey.set(firstKey, first);
    // Rolled twice, as a store applies the plans: every key still works (24 h overlap).
    const once = planKeyRoll(first);
    const second: ApiKeyRecord = { ...once.newRecord, id: 'key_2' };
    byKey.set(once.newKey.key, second);
    const twice = planKeyRoll(second);
    byKey.set(twice.newKey.key, { ...twice.newRecord, id: 'key_3' });
    const other = generateApiKey().key;
    byKey.set(other, { ...first, id: 'key_9' });
    host = await startHost(hostName, { lookup: { findKey: async (key) => byKey.get(key) ?? null } });

    const keys = [firstKey, once.newKey.key, twice.newKey.key];
    const answers = await Promise.all(Array.from({ length: 15 }, (_, i) => get(keys[i % 3]!)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([...Array(5).fill(200), ...Array(10).fill(429)]);
    for (const key of keys) {
      const refused = await get(key);
      expect({ status: refused.status, code: refused.body.error?.code }).toEqual({ status: 429, code: 'RATE_LIMITED' });
      expect(refused.headers.ratelimit).toMatch(/^"key";r=0;t=(60|59)$/);
    }
    expect(host.handlers).toHaveLength(5);
    // Another family keeps its own count.
    expect((await get(other)).status).toBe(200);
    expect(host.handlers).toHaveLength(6);
  });

  it('admits exactly the limit out of 20 interleaved requests', async () => {
    const store = keyStore({ a: { tenants: [{ id: 1 }] } });
    host = await startHost(hostName, { lookup: store.lookup, rateLimit: { default: { limit: 5, windowMs: 60_000 } } });
    const answers = await Promise.all(Array.from({ length: 20 }, () => get(store.keys.a!)));
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([...Array(5).fill(200), ...Array(15).fill(429)]);
    expect(host.handlers).toHaveLength(5);
  });

  it('lets requests through when the store fails, warning once per outage', async () => {
    const store = keyStore({ a: { tenants: [{ id: 1 }] } });
    let down = true;
    const failing = {
      hit: async () => {
        if (down) throw new Error('store unreachable');
        return { count: 1, resetMs: 1000 };
      },
    };
    host = await startHost(hostName, {
      lookup: store.lookup,
      rateLimit: { default: { limit: 1, windowMs: 60_000 }, store: failing },
    });
    for (let i = 0; i < 5; i++) {
      const answer = await get(store.keys.a!);
      expect(answer.status).toBe(200);
      expect(answer.headers.ratelimit).toBeUndefined();
    }
    expect(host.logs.filter((line) => /Rate-limit store failed \(store unreachable\)/.test(line))).toHaveLength(1);
    down = false;
    expect((await get(store.keys.a!)).headers.ratelimit).toMatch(/^"default";r=0;t=1$/);
    expect(host.handlers).toHaveLength(6);
  });

  it('adds no header and no limit without a rateLimit option or a record limit', async () => {
    const store = keyStore({ a: { tenants: [{ id: 1 }] } });
    host = await startHost(hostName, { lookup: store.lookup });
    for (let i = 0; i < 20; i++) {
      const answer = await get(store.keys.a!);
      expect(answer.status).toBe(200);
      expect(answer.headers['ratelimit-policy']).toBeUndefined();
    }
  });
});
