// nest-keyring/redis on a three-master Redis Cluster (no replicas) started from the installed
// redis-server: revocations across two replicas and a rate limit shared by them, each replica with
// its own cluster client (createCluster), then one master killed mid-run and started again.
import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, createCluster } from 'redis';
import { redisInvalidationBus, redisRateLimitStore, type RedisInvalidationBus } from '../../lib/redis.js';
import { fleetOptions, fleetSummary } from '../../sample-app/src/fleet.js';
import { SharedStore, startReplica, type Replica } from '../fixtures/replica-app.js';
import type { AdapterName, TestApp } from '../fixtures/test-app.js';
import { describeWithRedis, startRedisCluster, type RedisCluster } from '../support/redis-server.js';

const PREFIX = 'nest-keyring:rate-limit:';
const TTL_WHILE_DISCONNECTED_MS = 500;
const RATE_LIMIT_TIMEOUT_MS = 300;

describeWithRedis('nest-keyring/redis on a Redis Cluster', () => {
  let cluster: RedisCluster;
  const store = new SharedStore();
  const clients: { destroy(): void }[] = [];
  const apps: TestApp[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    cluster = await startRedisCluster();
  }, 30_000);
  // Set while a node is down: a failed test must not leave the next one a broken cluster.
  let restart: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await restart?.();
    restart = undefined;
    for (const app of apps.splice(0)) await app.close();
    for (const client of clients.splice(0)) client.destroy();
    expect(unhandled).toEqual([]);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await cluster?.stop();
  });

  /** An app's own cluster client: quick reconnections, so a test sees a node come back soon. */
  async function clusterClient() {
    const client = createCluster({
      rootNodes: cluster.rootNodes,
      defaults: { socket: { connectTimeout: 500, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 500) } },
    });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  }

  /** One replica of the API: its own cluster client, for its bus and its rate-limit store. */
  async function replica(adapter: AdapterName = 'express'): Promise<Replica> {
    const client = await clusterClient();
    const started = await startReplica(
      store,
      {
        invalidationBus: redisInvalidationBus({ client, ttlWhileDisconnectedMs: TTL_WHILE_DISCONNECTED_MS }),
        rateLimit: { store: redisRateLimitStore({ client }), timeoutMs: RATE_LIMIT_TIMEOUT_MS },
      },
      adapter,
    );
    apps.push(started.test);
    await waitFor(() => started.bus.connected, 'the bus is connected');
    return started;
  }

  /** Which master holds each rate-limit counter: KEYS on each node lists only its own keys. */
  async function countersByNode(): Promise<Map<number, string[]>> {
    const byNode = new Map<number, string[]>();
    for (const node of cluster.nodes) {
      const direct = createClient({ url: node.url, socket: { connectTimeout: 500, reconnectStrategy: false } });
      direct.on('error', () => undefined);
      try {
        await direct.connect();
        byNode.set(node.port, await direct.keys(`${PREFIX}*`));
        await direct.close();
      } catch {
        byNode.set(node.port, []);
      }
    }
    return byNode;
  }

  /** How many pub/sub connections each node holds: where the buses listen. */
  async function pubSubClientsByNode(): Promise<Map<number, number>> {
    const byNode = new Map<number, number>();
    for (const node of cluster.nodes) {
      const direct = createClient({ url: node.url, socket: { connectTimeout: 500, reconnectStrategy: false } });
      direct.on('error', () => undefined);
      await direct.connect();
      const list = String(await direct.sendCommand(['CLIENT', 'LIST', 'TYPE', 'PUBSUB']));
      byNode.set(node.port, list.split('\n').filter((line) => line.includes('sub=1')).length);
      await direct.close();
    }
    return byNode;
  }

  /** A revocation through `from` is refused by `to` within `withinMs`; the refused request never ran. */
  async function expectRevokedAcross(from: Replica, to: Replica, id: string, withinMs: number): Promise<number> {
    const key = store.issue(id);
    expect((await to.get(key)).status).toBe(200); // `to` caches it
    const start = Date.now();
    expect((await from.revoke(id)).status).toBe(204);
    for (;;) {
      const ran = to.test.handlers.calls.length;
      const response = await to.get(key);
      if (response.status !== 200) {
        expect(response.status).toBe(401);
        expect(response.body.error.code).toBe('INVALID_API_KEY');
        expect(to.test.handlers.calls.length).toBe(ran);
        const took = Date.now() - start;
        expect(took).toBeLessThanOrEqual(withinMs);
        return took;
      }
      if (Date.now() - start > withinMs) throw new Error(`${id} still granted after ${withinMs} ms`);
      await sleep(20);
    }
  }

  // Nest's static logger goes to the app created last, so the replicas' lines are read together.
  const warnings = (...replicas: Replica[]) =>
    replicas
      .flatMap((replica) => replica.test.logger.lines)
      .filter((line) => line.startsWith('warn') && line.includes('Rate-limit store failed'));

  it('a key revoked in one replica is refused by the other, 20 times, within a second each', async () => {
    const a = await replica('express');
    const b = await replica('fastify');
    const took: number[] = [];
    for (let trial = 0; trial < 20; trial++) {
      took.push(await expectRevokedAcross(trial % 2 ? b : a, trial % 2 ? a : b, `key-revoked-${trial}`, 1_000));
    }
    process.stdout.write(`cluster revocations: max ${Math.max(...took)} ms over 20\n`);
  }, 30_000);

  it('one rate limit for both replicas, its counters spread over the shards by their keys', async () => {
    const a = await replica('express');
    const b = await replica('fastify');
    const keys = Array.from({ length: 9 }, (_, index) => store.issue(`key-limited-${index}`, 3));
    for (const key of keys) {
      for (let hit = 0; hit < 3; hit++) expect((await (hit % 2 ? b : a).get(key)).status).toBe(200);
      const refused = await b.get(key);
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe('RATE_LIMITED');
      expect((await a.get(key)).status).toBe(429);
    }
    expect(a.test.handlers.calls.length + b.test.handlers.calls.length).toBe(27);
    // Each counter is one key, on the master of its slot: nine counters land on more than one.
    const nodes = [...(await countersByNode()).values()].filter((counters) => counters.length > 0);
    expect(nodes.length).toBeGreaterThan(1);
    expect(nodes.flat().length).toBe(9);
    expect(warnings(a, b)).toEqual([]);
  }, 30_000);

  it(
    'one master killed mid-run: its keys fail open with one warning, the other shards keep counting, ' +
      'revocations still arrive; all resumes when it is back',
    async () => {
      const a = await replica('express');
      const b = await replica('express');
      const keys = Array.from({ length: 24 }, (_, index) => store.issue(`key-shard-${index}`, 100));
      for (const key of keys) expect((await a.get(key)).headers.ratelimit).toMatch(/^"key";r=99;/);
      const counters = await countersByNode();
      // The victim is a node a bus listens on: that replica loses its listener with it.
      const listeners = await pubSubClientsByNode();
      const victim = cluster.nodes.find((node) => listeners.get(node.port)! > 0)!;
      const onVictim = (key: string) =>
        counters.get(victim.port)!.some((counter) => counter.includes(JSON.stringify(store.records.get(key)!.id)));
      const deadKeys = keys.filter(onVictim);
      const liveKeys = keys.filter((key) => !onVictim(key));
      expect(deadKeys.length).toBeGreaterThan(0);
      expect(liveKeys.length).toBeGreaterThan(0);

      await victim.stop({ abrupt: true });
      restart = async () => {
        await victim.start();
        await cluster.ready();
      };

      // Keys on the dead shard: let through uncounted (fail open), each within the limiter's timeout.
      for (const key of deadKeys) {
        const started = Date.now();
        const response = await a.get(key);
        expect(response.status).toBe(200);
        expect(response.headers.ratelimit).toBeUndefined();
        expect(Date.now() - started).toBeLessThan(RATE_LIMIT_TIMEOUT_MS + 700);
      }
      expect(warnings(a, b)).toHaveLength(1);
      expect(warnings(a, b)[0]).toMatch(/requests are let through without a limit/);
      // Keys on the other shards are counted as before.
      for (const key of liveKeys) expect((await a.get(key)).headers.ratelimit).toMatch(/^"key";r=98;/);
      expect(a.test.handlers.calls.length).toBe(keys.length * 2);

      // The replica that listened there knows it: its cache serves keys for ttlWhileDisconnectedMs only.
      await waitFor(() => !a.bus.connected || !b.bus.connected, 'a bus reports the lost node', 5_000);
      // Revocations still reach the other replica: at once where its listener's node is alive, else
      // after at most ttlWhileDisconnectedMs, when its cache asks the store again.
      await expectRevokedAcross(a, b, 'key-revoked-during', 1_000 + TTL_WHILE_DISCONNECTED_MS);
      await expectRevokedAcross(b, a, 'key-revoked-during-2', 1_000 + TTL_WHILE_DISCONNECTED_MS);

      await restart();
      restart = undefined;
      await waitFor(() => a.bus.connected && b.bus.connected, 'both buses are connected again', 15_000);
      // The shard is back, empty: its keys are counted again, from a fresh window.
      await waitFor(
        async () => (await a.get(deadKeys[0]!)).headers.ratelimit !== undefined,
        'the dead shard counts again',
        15_000,
      );
      expect((await a.get(deadKeys[0]!)).headers.ratelimit).toMatch(/^"key";r=\d+;/);
      await expectRevokedAcross(a, b, 'key-revoked-after', 1_000);
      await expectRevokedAcross(b, a, 'key-revoked-after-2', 1_000);
    },
    60_000,
  );

  it('sends each counter to the shard of its key', async () => {
    const client = await clusterClient();
    const sent: unknown[][] = [];
    const send = client.sendCommand.bind(client);
    client.sendCommand = ((...args: Parameters<typeof send>) => {
      sent.push(args);
      return send(...args);
    }) as typeof send;
    const limits = redisRateLimitStore({ client, prefix: 'cluster-test:' });
    for (const id of ['a', 'b', 'c']) expect(await limits.hit(id, 60_000, 5)).toMatchObject({ count: 1 });
    // Routed by the counter's own key, as a write: the node-redis cluster sends it to that key's master.
    expect(sent.length).toBeGreaterThanOrEqual(3);
    for (const [firstKey, readonly, args] of sent) {
      expect(firstKey).toMatch(/^cluster-test:[abc]$/);
      expect((args as string[])[3]).toBe(firstKey);
      expect(readonly).toBe(false);
    }
  });

  it("prints the sample app's cluster nodes without their credentials", () => {
    const line = fleetSummary('redis://app:s3cret@10.0.0.1:7000/0, rediss://10.0.0.2:7000');
    expect(line).toContain('redis://10.0.0.1:7000,rediss://10.0.0.2:7000');
    expect(line).not.toContain('s3cret');
  });

  it.each([
    ['with the cluster up', false],
    ['started while no node answers, joining once they do', true],
  ])(
    "the sample app's REDIS_URL takes a comma-separated list of cluster nodes, %s",
    async (_, down) => {
      if (down) {
        await Promise.all(cluster.nodes.map((node) => node.stop()));
        restart = async () => {
          await Promise.all(cluster.nodes.map((node) => node.start()));
          await cluster.ready();
        };
      }
      const options = await fleetOptions(cluster.urls);
      const bus = options.invalidationBus as RedisInvalidationBus;
      const limits = options.rateLimit as {
        store: { hit(id: string, windowMs: number, limit: number): Promise<unknown>; close(): Promise<void> };
      };
      try {
        bus.subscribe({
          onInvalidation: () => undefined,
          onDisconnected: () => undefined,
          onReconnected: () => undefined,
        });
        if (down) {
          await sleep(500);
          expect(bus.connected).toBe(false);
          expect(await limits.store.hit('sample', 60_000, 5).catch(() => 'failed')).toBe('failed');
          await restart!();
          restart = undefined;
        }
        await waitFor(() => bus.connected, 'the sample app bus is connected', 15_000);
        await waitFor(
          () =>
            limits.store.hit('sample', 60_000, 5).then(
              () => true,
              () => false,
            ),
          'the sample app store counts',
          15_000,
        );
        expect(await limits.store.hit('sample', 60_000, 5)).toEqual({ count: 2, resetMs: expect.any(Number) });
      } finally {
        await bus.close();
        await limits.store.close();
      }
    },
    30_000,
  );
});

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}
