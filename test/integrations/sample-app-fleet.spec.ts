// The sample app as a fleet: two processes (`node sample-app/dist/main.js`) on one database file
// and one real redis-server (REDIS_URL). A key revoked through one is refused by the other within
// a second; a rate limit is one limit across both; Redis killed mid-run and brought back.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { fleetSummary } from '../../sample-app/src/fleet.js';
import { describeWithRedis, freePort, startRedisServer, type RedisServer } from '../support/redis-server.js';
import { spawnSampleApp } from '../support/sample-processes.js';
import { CHILD_NODE_OPTIONS } from '../support/child-env.js';

const run = promisify(execFile);
const ISO = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/;
/** The bound the fleet must meet: from the revoking answer to the other replica's first refusal. */
const REVOCATION_BOUND_MS = 1_000;
/** The sample app's cache TTL (KEY_CACHE_TTL_MS): no replica may grant a revoked key past it. */
const CACHE_TTL_MS = 5_000;

// Loaded before the app (--import): reports on stderr every module it resolves from
// nest-keyring/redis or the redis client. The hooks run on a thread of their own, whose
// process.stderr reaches the parent late, if at all, on a busy machine: write to fd 2 directly.
const REDIS_MODULE_HOOKS = `import { writeSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  const parts = ['/dist/esm/redis', '/dist/cjs/redis', '/node_modules/redis/', '/node_modules/@redis/'];
  if (parts.some((part) => resolved.url.includes(part))) writeSync(2, 'REDIS MODULE ' + resolved.url + '\\n');
  return resolved;
}`;
const REPORT_REDIS_MODULES =
  'data:text/javascript,' +
  encodeURIComponent(
    `import { register } from 'node:module'; ` +
      `register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(REDIS_MODULE_HOOKS)}`)});`,
  );

interface Replica {
  name: string;
  port: number;
  child: ChildProcess;
  admin: string;
  output: () => string;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const count = (text: string, pattern: RegExp) => text.match(new RegExp(pattern.source, 'g'))?.length ?? 0;

// The compiled sample app, as `npm start` runs it.
beforeAll(() => {
  const compiled = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'sample-app/tsconfig.json'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (compiled.status !== 0) throw new Error(`sample app did not compile: ${compiled.stdout}${compiled.stderr}`);
}, 150_000);

describeWithRedis('the sample app as a fleet: two replicas behind one Redis', () => {
  let redis: RedisServer;
  let directory: string;
  let database: string;
  let a: Replica;
  let b: Replica;
  const running = new Set<ChildProcess>();

  /** `npm run keys -- …` on the shared file. */
  async function keys(...args: string[]): Promise<string> {
    const { stdout } = await run(process.execPath, ['sample-app/dist/keys-cli.js', ...args], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: CHILD_NODE_OPTIONS, KEYRING_DB: database },
      timeout: 30_000,
    });
    return stdout;
  }

  /** A production key of tenant 123 (revocable by either replica's demo admin key): its id and key. */
  async function createKey(...extra: string[]): Promise<{ id: string; key: string }> {
    const stdout = await keys(
      'create',
      '--env',
      'production',
      '--tenants',
      '123',
      '--scopes',
      'messages:read',
      ...extra,
    );
    return { id: /^(key_\w+)/.exec(stdout)![1]!, key: /^key: (\S+)$/m.exec(stdout)![1]! };
  }

  /** Keys made a few at a time (each is a process of its own). */
  async function createKeys(n: number): Promise<Array<{ id: string; key: string }>> {
    const made: Array<{ id: string; key: string }> = [];
    while (made.length < n) {
      made.push(...(await Promise.all(Array.from({ length: Math.min(4, n - made.length) }, () => createKey()))));
    }
    return made;
  }

  async function start(name: string): Promise<Replica> {
    const port = await freePort();
    const env = {
      ...process.env,
      NODE_OPTIONS: CHILD_NODE_OPTIONS,
      NO_COLOR: '1',
      PORT: String(port),
      KEYRING_DB: database,
      REDIS_URL: redis.url,
    };
    const { child, output } = spawnSampleApp(running, env, ['--import', REPORT_REDIS_MODULES]);
    const deadline = Date.now() + 30_000;
    while (!/^ {2}staging +\S+/m.test(output())) {
      if (child.exitCode !== null) throw new Error(`replica ${name} exited:\n${output()}`);
      if (Date.now() > deadline) throw new Error(`replica ${name} did not start:\n${output()}`);
      await sleep(50);
    }
    const admin = /^ {2}production +(pk_\S+)/m.exec(output())![1]!;
    return { name, port, child, admin, output };
  }

  const me = (replica: Replica, key: string) =>
    fetch(`http://127.0.0.1:${replica.port}/api/v1/me`, { headers: { 'x-api-key': key } });
  const statusOf = async (replica: Replica, key: string) => (await me(replica, key)).status;
  const revoke = (replica: Replica, id: string) =>
    fetch(`http://127.0.0.1:${replica.port}/api/v1/keys/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${replica.admin}` },
    });

  /**
   * Revokes `key` through `from` (both replicas have it cached) and polls `to` until it refuses:
   * the milliseconds from the DELETE's answer to the first refusal. Gives up after `limitMs`.
   */
  async function revocationLatency(
    from: Replica,
    to: Replica,
    { id, key }: { id: string; key: string },
    limitMs: number,
  ) {
    expect([await statusOf(from, key), await statusOf(to, key)]).toEqual([200, 200]);
    const revoked = await revoke(from, id);
    const answeredAt = performance.now();
    expect(revoked.status).toBe(200);
    for (;;) {
      const response = await me(to, key);
      const elapsed = performance.now() - answeredAt;
      if (response.status !== 200) {
        expect(response.status).toBe(401);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('INVALID_API_KEY');
        return elapsed;
      }
      await response.arrayBuffer();
      if (elapsed > limitMs) return elapsed;
    }
  }

  async function revocationLatencies(n: number, limitMs = CACHE_TTL_MS + 1_000) {
    const made = await createKeys(n);
    const latencies: number[] = [];
    for (const [index, key] of made.entries()) {
      const [from, to] = index % 2 === 0 ? [a, b] : [b, a];
      latencies.push(await revocationLatency(from, to, key, limitMs));
    }
    return latencies.sort((x, y) => x - y);
  }

  /** Requests alternating between the replicas, `first` first: their statuses and error codes. */
  async function alternate(key: string, n: number, first: Replica = a) {
    const second = first === a ? b : a;
    const answers: string[] = [];
    for (let i = 0; i < n; i++) {
      const response = await me(i % 2 === 0 ? first : second, key);
      const body = (await response.json()) as { error?: { code: string } };
      answers.push(response.status === 200 ? '200' : `${response.status} ${body.error?.code}`);
    }
    return answers;
  }

  async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting until ${what}\nA:\n${a.output()}\nB:\n${b.output()}`);
      await sleep(50);
    }
  }

  const alive = (replica: Replica) => replica.child.exitCode === null && replica.child.signalCode === null;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'keyring-fleet-'));
    database = join(directory, 'fleet.sqlite');
    redis = await startRedisServer();
    // One after the other: the first creates the database file.
    a = await start('A');
    b = await start('B');
  }, 60_000);

  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await Promise.all([...running].map((child) => once(child, 'exit')));
    await redis?.stop();
    if (directory) rmSync(directory, { recursive: true, force: true });
  }, 30_000);

  it('says at start-up that it runs with Redis, and where', () => {
    for (const replica of [a, b]) {
      expect(replica.output()).toContain(`Redis: on at redis://127.0.0.1:${redis.port}`);
      // What the app without REDIS_URL must not load (below), loaded here.
      expect(replica.output()).toContain('REDIS MODULE');
    }
  });

  it(`refuses a key revoked through the other replica within ${REVOCATION_BOUND_MS} ms (p99)`, async () => {
    const latencies = await revocationLatencies(20);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    console.log(
      `fleet revocation across replicas: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, ` +
        `${latencies.length} revocations`,
    );
    expect(p99).toBeLessThanOrEqual(REVOCATION_BOUND_MS);
  }, 120_000);

  it('counts a rate limit once for the fleet: the 6th request of 5/30s is refused on either replica', async () => {
    const fiveAndRefused = ['200', '200', '200', '200', '200', '429 RATE_LIMITED'];
    // A, B, A, B, A, B: the 6th on B; a 7th, on A, is refused too.
    const { key } = await createKey('--rate-limit', '5/30s');
    expect(await alternate(key, 7)).toEqual([...fiveAndRefused, '429 RATE_LIMITED']);
    // B, A, B, A, B, A: the 6th on A.
    const other = await createKey('--rate-limit', '5/30s');
    expect(await alternate(other.key, 6, b)).toEqual(fiveAndRefused);
    const refused = await me(b, key);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('ratelimit-policy')).toContain('5');
  }, 60_000);

  it('keeps serving while Redis is down (one warning per outage), and shares again once it is back', async () => {
    const valid = await createKey();
    const limited = await createKey('--rate-limit', '5/30s');
    const revokedDuringOutage = await createKey();
    for (const replica of [a, b]) expect(await statusOf(replica, revokedDuringOutage.key)).toBe(200);

    await redis.stop({ abrupt: true });
    await waitFor('both replicas noticed the outage', () =>
      [a, b].every((replica) => /invalidation bus disconnected/.test(replica.output())),
    );

    // For longer than ttlWhileDisconnectedMs: served from the database, every request 200.
    const outageEnds = Date.now() + 2_500;
    const statuses = new Set<number>();
    while (Date.now() < outageEnds) {
      for (const replica of [a, b]) {
        statuses.add(await statusOf(replica, valid.key));
        statuses.add(await statusOf(replica, limited.key));
      }
      await sleep(20);
    }
    expect([...statuses]).toEqual([200]);

    // A revocation during the outage: still refused by the other replica within the cache's bound.
    const latency = await revocationLatency(a, b, revokedDuringOutage, CACHE_TTL_MS + 1_000);
    console.log(`fleet revocation while Redis is down: ${latency.toFixed(0)} ms`);
    expect(latency).toBeLessThanOrEqual(CACHE_TTL_MS);

    await redis.start();
    await waitFor('both replicas are listening again', () =>
      [a, b].every((replica) => /invalidation bus reconnected/.test(replica.output())),
    );
    // The rate-limit clients reconnect on their own schedule (at most 2 s between attempts): a
    // key limited to 1 request is let through uncounted until a replica's client is back.
    const probe = await createKey('--rate-limit', '1/60s');
    for (const replica of [a, b]) {
      const deadline = Date.now() + 10_000;
      while ((await statusOf(replica, probe.key)) !== 429) {
        if (Date.now() > deadline) throw new Error(`replica ${replica.name} does not count again`);
        await sleep(100);
      }
    }

    const again = await revocationLatencies(6);
    expect(again.at(-1)).toBeLessThanOrEqual(REVOCATION_BOUND_MS);
    const { key } = await createKey('--rate-limit', '5/30s');
    expect(await alternate(key, 6, b)).toEqual(['200', '200', '200', '200', '200', '429 RATE_LIMITED']);

    for (const replica of [a, b]) {
      expect(alive(replica)).toBe(true);
      const output = replica.output();
      expect({ replica: replica.name, disconnected: count(output, /invalidation bus disconnected/) }).toEqual({
        replica: replica.name,
        disconnected: 1,
      });
      expect(count(output, /Rate-limit store failed/)).toBeLessThanOrEqual(1);
      expect(output).not.toMatch(/Unhandled|uncaught|\bERROR\b/);
    }
  }, 120_000);

  it('flushes last-used from both replicas on SIGTERM into the shared database', async () => {
    const used = await createKey();
    expect(await statusOf(a, used.key)).toBe(200);
    expect(await statusOf(b, used.key)).toBe(200);
    for (const replica of [a, b]) {
      const exited = once(replica.child, 'exit');
      replica.child.kill('SIGTERM');
      expect(await exited).toEqual([null, 'SIGTERM']);
    }
    const line = (await keys('list')).split('\n').find((row) => row.startsWith(used.id));
    expect(line).toMatch(new RegExp(`last used ${ISO.source}`));
  }, 60_000);
});

describe('the sample app without Redis, and what it prints of REDIS_URL', () => {
  it('prints where Redis is without the credentials of REDIS_URL', () => {
    const line = fleetSummary('redis://app:s3cret-password@redis.internal:6380/2');
    expect(line).toContain('Redis: on at redis://redis.internal:6380:');
    expect(line).not.toMatch(/s3cret|app:/);
    expect(fleetSummary('not a url')).not.toContain('not a url');
  });

  let directory: string;
  const running = new Set<ChildProcess>();

  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'keyring-alone-'));
  });
  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await Promise.all([...running].map((child) => once(child, 'exit')));
    rmSync(directory, { recursive: true, force: true });
  });

  /** One sample app, REDIS_URL set to `redisUrl` or unset; resolves once it printed its demo keys. */
  async function startAlone(redisUrl: string | undefined) {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_OPTIONS: CHILD_NODE_OPTIONS,
      NO_COLOR: '1',
      PORT: String(port),
      KEYRING_DB: join(directory, `alone-${port}.sqlite`),
    };
    delete env.REDIS_URL;
    if (redisUrl) env.REDIS_URL = redisUrl;
    const { child, output } = spawnSampleApp(running, env, ['--import', REPORT_REDIS_MODULES]);
    const deadline = Date.now() + 30_000;
    while (!/^ {2}staging +\S+/m.test(output())) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`the sample app did not start:\n${output()}`);
      await sleep(50);
    }
    const key = /^ {2}production +(pk_\S+)/m.exec(output())![1]!;
    const me = () => fetch(`http://127.0.0.1:${port}/api/v1/me`, { headers: { 'x-api-key': key } });
    return { child, me, output };
  }

  it('runs in one process and loads nothing of Redis', async () => {
    const app = await startAlone(undefined);
    expect((await app.me()).status).toBe(200);
    expect(app.output()).toContain('Redis: off (REDIS_URL not set)');
    expect(app.output()).not.toContain('REDIS MODULE');
  }, 60_000);

  it('starts and serves when REDIS_URL names a Redis that is not there, warning once', async () => {
    const app = await startAlone(`redis://127.0.0.1:${await freePort()}`);
    const statuses = new Set<number>();
    // Longer than the bus's reconnection attempts (100 ms backing off to 2 s) and its 1 s bound.
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      statuses.add((await app.me()).status);
      await sleep(50);
    }
    expect([...statuses]).toEqual([200]);
    expect(app.child.exitCode).toBeNull();
    expect(count(app.output(), /invalidation bus disconnected/)).toBe(1);
    expect(app.output()).not.toMatch(/Unhandled|uncaught|\bERROR\b/);
  }, 60_000);
});
