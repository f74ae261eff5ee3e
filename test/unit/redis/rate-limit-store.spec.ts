import { afterAll, afterEach, beforeAll, expect, it, jest } from '@jest/globals';
import { createClient } from 'redis';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeWithRedis, freePort, startRedisServer, type RedisServer } from '../../support/redis-server.js';
import { KeyringConfigError } from '../../../lib/core/refusals/failure.js';
import { redisRateLimitStore, type RedisRateLimitStore } from '../../../lib/redis/rate-limit-store.js';

describeWithRedis('redisRateLimitStore on a real redis-server', () => {
  let server: RedisServer;
  const stores: RedisRateLimitStore[] = [];
  const open = (options: Parameters<typeof redisRateLimitStore>[0]) => {
    const store = redisRateLimitStore(options);
    stores.push(store);
    return store;
  };
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });
  afterAll(() => server?.stop());

  it('counts atomically: 200 hits from two stores at once get the counts 1 to 200', async () => {
    const [a, b] = [open({ url: server.url }), open({ url: server.url })];
    const hits = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).hit('atomic', 60_000, 5)));
    expect(hits.map((hit) => hit.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    for (const hit of hits) expect(hit.resetMs).toBeGreaterThan(59_000);
  });

  it('starts a fresh window once the last one expired', async () => {
    const store = open({ url: server.url, prefix: 'test:' });
    expect(await store.hit('window', 150, 1)).toMatchObject({ count: 1 });
    expect(await store.hit('window', 150, 1)).toMatchObject({ count: 2 });
    await sleep(200);
    expect(await store.hit('window', 150, 1)).toMatchObject({ count: 1 });
  });

  it("works on an app's own client, and leaves it open", async () => {
    const client = createClient({ url: server.url });
    client.on('error', () => undefined);
    await client.connect();
    const store = open({ client });
    expect(await store.hit('own-client', 60_000, 5)).toMatchObject({ count: 1 });
    await store.close();
    expect(await client.get('nest-keyring:rate-limit:own-client')).toBe('1');
    client.destroy();
  });

  it('sends one EVALSHA per hit and arms no per-command timer, on its own client and on a given one', async () => {
    const admin = createClient({ url: server.url });
    admin.on('error', () => undefined);
    await admin.connect();
    // An app's client as most apps make it: node-redis's default command timeout left on.
    const given = createClient({ url: server.url });
    given.on('error', () => undefined);
    await given.connect();
    const calls = async () => {
      const stats = await admin.sendCommand(['INFO', 'commandstats']);
      const count = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(String(stats))?.[1] ?? 0);
      return { evalsha: count('evalsha'), eval: count('eval') };
    };
    for (const store of [open({ url: server.url }), open({ client: given })]) {
      await store.hit('warm', 60_000, 5); // loads the script if Redis has not seen it
      const before = await calls();
      const timers = jest.spyOn(AbortSignal, 'timeout');
      try {
        for (let i = 1; i <= 20; i++) expect(await store.hit('round-trips', 60_000, 5)).toMatchObject({ count: i });
        expect(timers).not.toHaveBeenCalled();
      } finally {
        timers.mockRestore();
      }
      expect(await calls()).toEqual({ evalsha: before.evalsha + 20, eval: before.eval });
      await admin.del('nest-keyring:rate-limit:round-trips');
    }
    given.destroy();
    admin.destroy();
  });

  it('fails fast while Redis is down, then counts again (script reloaded) once it is back', async () => {
    const store = open({ url: server.url });
    expect(await store.hit('outage', 60_000, 5)).toMatchObject({ count: 1 });
    await server.stop({ abrupt: true });
    const started = Date.now();
    await expect(store.hit('outage', 60_000, 5)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1000);
    await server.start();
    let hit: unknown;
    for (let attempt = 0; attempt < 100 && hit === undefined; attempt++) {
      hit = await store.hit('outage', 60_000, 5).catch(() => sleep(50).then(() => undefined));
    }
    // Redis came back empty: a fresh window.
    expect(hit).toMatchObject({ count: 1 });
  });

  it('opens without Redis and rejects (never hangs, never crashes) until it is there', async () => {
    const store = open({ url: `redis://127.0.0.1:${await freePort()}` });
    await expect(store.hit('nobody', 1000, 1)).rejects.toThrow();
  });

  it('refuses options that cannot work', () => {
    expect(() => redisRateLimitStore({} as never)).toThrow(KeyringConfigError);
    expect(() => redisRateLimitStore({ url: 'localhost:6379' })).toThrow(/redis:\/\/ or rediss:\/\//);
    expect(() => redisRateLimitStore({ client: {} as never })).toThrow(/no `sendCommand`/);
    expect(() => redisRateLimitStore({ url: server.url, client: {} } as never)).toThrow(/not both/);
  });
});
