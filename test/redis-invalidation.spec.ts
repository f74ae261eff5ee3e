// Revocation across replicas through a real redis-server: two Nest apps in this process, each
// with its own bus (its own Redis connections), sharing one key store as replicas share a
// database. Faults: Redis unreachable at start-up, killed mid-run, restarted.
import { afterAll, afterEach, beforeAll, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { type InvalidationBus } from '../lib/index.js';
import { redisInvalidationBus, type RedisInvalidationBus } from '../lib/redis.js';
import { SharedStore, startReplica, type Replica } from './fixtures/replica-app.js';
import { describeWithRedis, startRedisServer, type RedisServer } from './support/redis-server.js';

const replica = (store: SharedStore, bus: InvalidationBus, ttlMs = 30_000): Promise<Replica> =>
  startReplica(store, { invalidationBus: bus, cache: { ttlMs } });

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

/** Sends `key` to a replica until it is refused: when (performance clock), the refusal, how many were granted. */
async function untilRefused(replica: Replica, key: string, timeoutMs = 5_000) {
  const deadline = performance.now() + timeoutMs;
  for (let granted = 0; ; granted++) {
    const response = await replica.get(key);
    if (response.status !== 200) return { at: performance.now(), response, granted };
    if (performance.now() > deadline) throw new Error(`still granted after ${timeoutMs} ms`);
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Warnings logged through Nest's Logger by the invalidation bus. */
function busWarnings() {
  const spy = jest.spyOn(Logger.prototype, 'warn');
  return () =>
    spy.mock.contexts
      .map((context, index) => ({ context: (context as Logger & { context?: string }).context, index }))
      .filter(({ context }) => context === 'InvalidationBus')
      .map(({ index }) => String(spy.mock.calls[index]![0]));
}

describeWithRedis('revocation across replicas through Redis', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  const open: { close(): Promise<void> }[] = [];
  const servers: RedisServer[] = [];

  const started = async (): Promise<RedisServer> => {
    const server = await startRedisServer();
    servers.push(server);
    return server;
  };
  const keep = <T extends { close(): Promise<void> }>(thing: T): T => {
    open.push(thing);
    return thing;
  };

  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await thing.close();
    for (const server of servers.splice(0)) await server.stop();
    jest.restoreAllMocks();
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });

  it('a key revoked in one replica is refused by the other: p99 ≤ 1 s over 50 revocations', async () => {
    const redis = await started();
    const store = new SharedStore();
    const a = keep(await replica(store, redisInvalidationBus({ url: redis.url })));
    const b = keep(await replica(store, redisInvalidationBus({ url: redis.url })));
    await waitFor(() => a.bus.connected && b.bus.connected, 'both buses are connected');

    const latencies: number[] = [];
    for (let trial = 0; trial < 50; trial++) {
      const id = `key-${trial}`;
      const key = store.issue(id);
      expect((await b.get(key)).status).toBe(200); // B caches it
      const ranBefore = b.handlers.calls.length;
      const start = performance.now();
      // supertest sends on `then`: start the revocation, then ask B until it refuses.
      const revoking = a.revoke(id).then((response) => response);
      const { at, response, granted } = await untilRefused(b, key);
      expect((await revoking).status).toBe(204);
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('INVALID_API_KEY');
      // The refused request never reached the handler.
      expect(b.handlers.calls.length).toBe(ranBefore + granted);
      latencies.push(at - start);
    }
    latencies.sort((x, y) => x - y);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    process.stdout.write(
      `revocation across replicas over Redis, 50 trials: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, ` +
        `max ${latencies.at(-1)!.toFixed(1)} ms\n`,
    );
    expect(p99).toBeLessThanOrEqual(1_000);
  }, 60_000);

  it('Redis unreachable at start-up: the app starts and serves, warns once, and joins when Redis comes', async () => {
    const warnings = busWarnings();
    const redis = await started();
    await redis.stop();
    const store = new SharedStore();
    const bus = redisInvalidationBus({ url: redis.url, ttlWhileDisconnectedMs: 200 });
    const app = keep(await replica(store, bus));
    const key = store.issue('key-start');
    await waitFor(() => warnings().length > 0, 'the outage is reported');
    for (let i = 0; i < 10; i++) {
      const response = await app.get(key);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ key: 'key-start' });
      await sleep(100); // several reconnection attempts meanwhile
    }
    expect(app.handlers.calls).toHaveLength(10);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatch(/^invalidation bus disconnected \(.*ECONNREFUSED.*\);/);
    expect(warnings()[0]).not.toContain(key);

    await redis.start();
    await waitFor(() => bus.connected, 'the bus connects', 5_000);
    expect(app.keyring.cacheSize).toBe(0);
    const other = keep(await replica(store, redisInvalidationBus({ url: redis.url })));
    await waitFor(() => other.bus.connected, 'the second bus connects');
    expect((await app.get(key)).status).toBe(200);
    await other.revoke('key-start');
    const { response } = await untilRefused(app, key, 1_000);
    expect(response.status).toBe(401);
    expect(warnings()).toHaveLength(1);
  });

  it('Redis killed mid-run: keys cached are served no longer than ttlWhileDisconnectedMs, one warning; \
restarted: caches cleared, revocations flow again', async () => {
    const warnings = busWarnings();
    const redis = await started();
    const store = new SharedStore();
    const bound = 800;
    const a = keep(await replica(store, redisInvalidationBus({ url: redis.url, ttlWhileDisconnectedMs: bound })));
    const b = keep(await replica(store, redisInvalidationBus({ url: redis.url, ttlWhileDisconnectedMs: bound })));
    await waitFor(() => a.bus.connected && b.bus.connected, 'both buses are connected');

    const key = store.issue('key-outage');
    const lookedUp = performance.now();
    expect((await b.get(key)).status).toBe(200);
    await redis.stop({ abrupt: true });
    await waitFor(() => !a.bus.connected && !b.bus.connected, 'both buses see the outage', 5_000);
    // The revocation's message is lost: B learns of it only from the store, once its entry is too old.
    expect((await a.revoke('key-outage')).status).toBe(204);
    const { at, response } = await untilRefused(b, key, 5_000);
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('INVALID_API_KEY');
    // The bound, plus the time one request takes on a busy machine.
    expect(at - lookedUp).toBeLessThanOrEqual(bound + 500);

    // Many requests and reconnection attempts later: one warning per replica for this outage.
    const fresh = store.issue('key-during-outage');
    for (let i = 0; i < 20; i++) expect((await b.get(fresh)).status).toBe(200);
    await sleep(1_000);
    expect(warnings()).toHaveLength(2);

    const lookupsBefore = store.lookups;
    await redis.start();
    await waitFor(() => a.bus.connected && b.bus.connected, 'both buses reconnect', 5_000);
    expect(b.keyring.cacheSize).toBe(0);
    expect((await b.get(fresh)).status).toBe(200);
    expect(store.lookups).toBe(lookupsBefore + 1); // asked again: the cache was cleared

    const after = store.issue('key-after');
    expect((await b.get(after)).status).toBe(200);
    const start = performance.now();
    await a.revoke('key-after');
    const refused = await untilRefused(b, after, 1_000);
    expect(refused.response.status).toBe(401);
    expect(refused.at - start).toBeLessThanOrEqual(1_000);
    expect(warnings()).toHaveLength(2);
  }, 30_000);

  it('works on a client the app owns, and leaves it open on shutdown', async () => {
    const redis = await started();
    const client = createClient({ url: redis.url });
    client.on('error', () => undefined);
    await client.connect();
    const store = new SharedStore();
    const a = keep(await replica(store, redisInvalidationBus({ client })));
    const b = await replica(store, redisInvalidationBus({ url: redis.url }));
    await waitFor(() => a.bus.connected && b.bus.connected, 'both buses are connected');
    const key = store.issue('key-client');
    expect((await b.get(key)).status).toBe(200);
    await a.revoke('key-client');
    expect((await untilRefused(b, key, 1_000)).response.status).toBe(401);
    // And the other way round.
    const other = store.issue('key-client-2');
    expect((await a.get(other)).status).toBe(200);
    await b.revoke('key-client-2');
    expect((await untilRefused(a, other, 1_000)).response.status).toBe(401);

    await a.close();
    open.splice(open.indexOf(a), 1);
    expect(client.isReady).toBe(true);
    expect(await client.ping()).toBe('PONG');
    expect(a.bus.connected).toBe(false);
    await b.close();
    await client.close();
  });

  it('closing the app closes the connections the bus opened', async () => {
    const redis = await started();
    const bus = redisInvalidationBus({ url: redis.url }) as RedisInvalidationBus;
    const app = await replica(new SharedStore(), bus);
    await waitFor(() => bus.connected, 'the bus is connected');
    const probe = createClient({ url: redis.url });
    await probe.connect();
    const clients = async () =>
      String(await probe.sendCommand(['CLIENT', 'LIST']))
        .trim()
        .split('\n').length;
    expect(await clients()).toBe(3); // the probe, the bus's publisher and listener
    await app.close();
    expect(bus.connected).toBe(false);
    await waitFor(async () => (await clients()) === 1, 'only the probe is left', 2_000);
    await probe.close();
  });

  it('a bus whose publish throws or hangs never fails or delays the request that revokes', async () => {
    for (const publish of [
      () => {
        throw new Error('publish failed');
      },
      () => new Promise<void>(() => undefined),
    ]) {
      const store = new SharedStore();
      const bus: InvalidationBus = { connected: true, publish, subscribe: () => () => undefined };
      const app = keep(await replica(store, bus));
      const key = store.issue('key-faulty');
      expect((await app.get(key)).status).toBe(200);
      const start = performance.now();
      expect((await app.revoke('key-faulty')).status).toBe(204);
      expect(performance.now() - start).toBeLessThan(1_000);
      expect((await app.get(key)).status).toBe(401);
    }
  });
});
