import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { ApiKeyAuth, ApiKeyModule, generateApiKey, type ApiKeyRecord } from '../../lib/index.js';
import { redisRateLimitStore, type RedisRateLimitStore } from '../../lib/redis.js';
import { createTestApp, type AdapterName, type TestApp } from '../fixtures/test-app.js';
import { routesController } from '../fixtures/routes-controller.js';
import { describeWithRedis, startRedisServer, type RedisServer } from '../support/redis-server.js';

const LimitedController = routesController(
  'LimitedController',
  '',
  [{ method: 'GET', path: 'limited', answer: { ok: true } }],
  [ApiKeyAuth()],
);

interface Replica {
  test: TestApp;
  store: RedisRateLimitStore;
  get: () => request.Test;
}

describeWithRedis('rate limits shared through Redis by two replicas', () => {
  let server: RedisServer;
  const replicas: Replica[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    server = await startRedisServer();
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    // Closing an app closes its store's Redis client (ApiKeyModule on shutdown): nothing is left open.
    for (const { test } of replicas.splice(0)) await test.close();
    expect(unhandled).toEqual([]);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server?.stop();
  });

  /** Two replicas (Nest on Express and on Fastify) of one API: one key store, one Redis. */
  async function startFleet(limit: number) {
    const key = generateApiKey().key;
    const record: ApiKeyRecord = { id: `key-${Math.random()}`, tenants: [{ id: 1 }] };
    const lookup = { findKey: async (candidate: string) => (candidate === key ? record : null) };
    for (const adapter of ['express', 'fastify'] as AdapterName[]) {
      const store = redisRateLimitStore({ url: server.url });
      const test = await createTestApp(adapter, {
        imports: [
          ApiKeyModule.forRoot({ lookup, rateLimit: { default: { limit, windowMs: 60_000 }, store, timeoutMs: 300 } }),
        ],
        controllers: [LimitedController],
      });
      const get = () => request(test.app.getHttpServer()).get('/limited').set('Authorization', `Bearer ${key}`);
      replicas.push({ test, store, get });
    }
    return replicas as [Replica, Replica];
  }

  // Nest's static logger goes to the app created last, so the two replicas' lines are read together.
  const warnings = () =>
    replicas
      .flatMap((replica) => replica.test.logger.lines)
      .filter((line) => line.startsWith('warn') && line.includes('Rate-limit store failed'));

  it.each([0, 1])('answers the 6th request 429 whichever replica gets it (replica %i)', async (sixth) => {
    const fleet = await startFleet(5);
    for (let i = 0; i < 5; i++) {
      const answer = await fleet[i % 2]!.get();
      expect(answer.status).toBe(200);
      expect(answer.headers.ratelimit).toMatch(new RegExp(`^"default";r=${4 - i};t=`));
    }
    const refused = await fleet[sixth]!.get();
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('RATE_LIMITED');
    expect(refused.headers['retry-after']).toMatch(/^(60|59)$/);
    expect((await fleet[1 - sixth]!.get()).status).toBe(429);
    const ran = fleet[0].test.handlers.calls.length + fleet[1].test.handlers.calls.length;
    expect(ran).toBe(5);
  });

  it('admits exactly the limit of 20 requests sent to both replicas at once', async () => {
    const fleet = await startFleet(5);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => fleet[i % 2]!.get()));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(5);
    expect(answers.filter((answer) => answer.status === 429)).toHaveLength(15);
  });

  it('fails open while Redis is down (one warning per replica, no crash), limits again once it is back', async () => {
    const fleet = await startFleet(2);
    expect((await fleet[0].get()).status).toBe(200);
    expect((await fleet[1].get()).status).toBe(200);
    expect((await fleet[0].get()).status).toBe(429);

    await server.stop({ abrupt: true });
    for (let i = 0; i < 10; i++) {
      const answer = await fleet[i % 2]!.get();
      expect(answer.status).toBe(200);
      expect(answer.headers.ratelimit).toBeUndefined();
    }
    // One warning per replica: each saw the outage once.
    expect(warnings()).toHaveLength(2);

    // Redis comes back empty: a fresh window, counted again by both replicas once reconnected.
    await server.start();
    const untilCounted = async (replica: Replica) => {
      for (let attempt = 0; attempt < 100; attempt++) {
        const answer = await replica.get();
        if (answer.headers.ratelimit !== undefined) return answer;
        await sleep(100);
      }
      throw new Error('the replica never counted again');
    };
    expect((await untilCounted(fleet[0])).headers.ratelimit).toMatch(/^"default";r=1;/);
    expect((await untilCounted(fleet[1])).headers.ratelimit).toMatch(/^"default";r=0;/);
    expect((await fleet[0].get()).status).toBe(429);
    expect((await fleet[1].get()).status).toBe(429);
    // Still one warning each: the outage was one.
    expect(warnings()).toHaveLength(2);
  }, 30_000);

  it('starts while Redis is down: serves (one warning per replica), then limits once Redis is there', async () => {
    await server.stop({ abrupt: true });
    const fleet = await startFleet(1);
    for (let i = 0; i < 6; i++) expect((await fleet[i % 2]!.get()).status).toBe(200);
    expect(warnings()).toHaveLength(2);
    await server.start();
    let counted = false;
    for (let attempt = 0; attempt < 100 && !counted; attempt++) {
      counted = (await fleet[0].get()).headers.ratelimit !== undefined;
      if (!counted) await sleep(100);
    }
    expect(counted).toBe(true);
    const refused = await fleet[0].get();
    expect([refused.status, refused.body.error?.code]).toEqual([429, 'RATE_LIMITED']);
  }, 30_000);
});
