// The sample app as users start it (`node sample-app/dist/main.js`, built by tsc), its socket.io
// gateway driven by the real client: a message sent over REST is pushed to its own tenant's
// sockets only, and a refused handshake carries the code. With a real redis-server, two replicas:
// a key revoked through one closes the sockets the other holds.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { CHILD_NODE_OPTIONS } from '../support/child-env.js';
import { describeWithRedis, freePort, startRedisServer, type RedisServer } from '../support/redis-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SEND = { phone: '+966501234567', message_type: 'text', data: { body: 'Hello tenant 123' } };

// Loaded before the app: tells the test (over the IPC channel) the port its server listens on.
const REPORT_PORT =
  'data:text/javascript,' +
  encodeURIComponent(
    "import net from 'node:net'; const listen = net.Server.prototype.listen; " +
      'net.Server.prototype.listen = function (...args) { ' +
      "this.once('listening', () => { const address = this.address(); " +
      "if (typeof address === 'object' && address !== null) process.send?.({ port: address.port }); }); " +
      'return listen.apply(this, args); };',
  );

interface SampleApp {
  child: ChildProcess;
  base: string;
  keys: { production: string; staging: string };
  output: () => string;
}

let compiled = false;

/**
 * Builds (once) and starts the sample app on a port the system picks (or `env.PORT`), with the
 * database given; `env` adds to its environment (e.g. `REDIS_URL`).
 */
async function startSampleApp(
  database: string,
  started: ChildProcess[],
  env: Record<string, string> = {},
): Promise<SampleApp> {
  if (!compiled) {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', 'sample-app/tsconfig.json'], { cwd: root, stdio: 'pipe' });
    compiled = true;
  }
  const child = spawn(process.execPath, ['--import', REPORT_PORT, 'sample-app/dist/main.js'], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: CHILD_NODE_OPTIONS, NO_COLOR: '1', PORT: '0', KEYRING_DB: database, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  // Stopped by the caller whatever happens next.
  started.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sample app did not listen:\n${output}`)), 30_000);
    child.once('message', (message: { port?: number }) => {
      clearTimeout(timer);
      resolve(message.port!);
    });
    child.once('exit', (code) => reject(new Error(`the sample app exited with ${code}:\n${output}`)));
  });
  // The demo keys are printed once the app listens.
  const deadline = Date.now() + 15_000;
  while (!/^ {2}staging +\S+/m.test(output)) {
    if (Date.now() > deadline) throw new Error(`no demo keys printed:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const keyOf = (environment: string) => new RegExp(`^ {2}${environment} +(\\S+)`, 'm').exec(output)![1]!;
  return {
    child,
    base: `http://127.0.0.1:${port}`,
    keys: { production: keyOf('production'), staging: keyOf('staging') },
    output: () => output,
  };
}

/** Closes the sockets, then stops the apps (SIGTERM, as a user would). */
async function stopAll(sockets: Socket[], started: ChildProcess[]): Promise<void> {
  for (const socket of sockets) socket.close();
  for (const child of started) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

type Connected = { ok: true; socket: Socket } | { ok: false; error: Error & { data?: unknown } };

describe('the sample app pushes new messages over socket.io to their own tenant only', () => {
  let directory: string;
  let app: SampleApp;
  const started: ChildProcess[] = [];
  const sockets: Socket[] = [];

  function connect(auth: Record<string, unknown>, headers?: Record<string, string>): Promise<Connected> {
    const socket = io(app.base, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth,
      extraHeaders: headers,
    });
    sockets.push(socket);
    return new Promise((resolve) => {
      socket.once('connect', () => resolve({ ok: true, socket }));
      socket.once('connect_error', (error) => resolve({ ok: false, error }));
    });
  }

  async function subscribed(auth: Record<string, unknown>, headers?: Record<string, string>) {
    const connected = await connect(auth, headers);
    if (!connected.ok) throw new Error(`refused: ${connected.error.message}`);
    const received: { tenant_id: number; body: string }[] = [];
    connected.socket.on('message', (message: { tenant_id: number; body: string }) => received.push(message));
    const answer = await connected.socket.timeout(5_000).emitWithAck('subscribe');
    return { socket: connected.socket, received, answer };
  }

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'keyring-realtime-'));
    app = await startSampleApp(join(directory, 'keys.sqlite'), started);
  }, 90_000);

  afterAll(async () => {
    await stopAll(sockets, started);
    rmSync(directory, { recursive: true, force: true });
  });

  it("delivers a message sent as tenant 123 to tenant 123's sockets, and to no other tenant's", async () => {
    const tenant123 = await subscribed({ token: app.keys.production });
    expect(tenant123.answer).toEqual({ success: true, data: { subscribed: 'tenant:123' } });
    // The same key, another of its tenants; and another key's tenant, key in a header.
    const tenant456 = await subscribed({ token: app.keys.production, tenant: '456' });
    const tenant789 = await subscribed({}, { 'X-API-KEY': app.keys.staging });
    expect(tenant789.answer).toEqual({ success: true, data: { subscribed: 'tenant:789' } });

    const sent = await fetch(`${app.base}/api/v1/messages/send`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${app.keys.production}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(SEND),
    });
    expect(sent.status).toBe(200);
    const { data } = (await sent.json()) as { data: { message_id: string } };

    const deadline = Date.now() + 5_000;
    while (tenant123.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(tenant123.received).toEqual([
      expect.objectContaining({ message_id: data.message_id, tenant_id: 123, body: 'Hello tenant 123' }),
    ]);
    // A push to them would have come before the answer to a later message on the same socket.
    for (const other of [tenant456, tenant789]) {
      await other.socket.timeout(5_000).emitWithAck('me');
      expect(other.received).toEqual([]);
    }
  });

  it.each([
    ['no key', {}, 'AUTHENTICATION_REQUIRED'],
    ['an unknown key', { token: 'pk_unknown' }, 'INVALID_API_KEY'],
    ['a tenant the key is not linked to', { tenant: '999' }, 'TENANT_NOT_FOUND'],
  ])('refuses %s in the handshake, with the code', async (_, auth, code) => {
    const withKey = 'tenant' in auth ? { token: app.keys.production, ...auth } : auth;
    const connected = await connect(withKey);
    expect(connected.ok).toBe(false);
    if (connected.ok) return;
    expect(connected.error.message).toBe(code);
    expect(connected.error.data).toEqual({ success: false, error: { code, message: expect.any(String) } });
  });

  it('answers a message with the connection’s key and tenant', async () => {
    const connected = await connect({ token: app.keys.staging });
    if (!connected.ok) throw new Error('refused');
    const me = await connected.socket.timeout(5_000).emitWithAck('me');
    expect(me).toEqual({
      success: true,
      data: { key_id: expect.any(String), environment: 'staging', tenant: expect.objectContaining({ id: 789 }) },
    });
  });
});

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

describeWithRedis('the sample app as two replicas behind one Redis: revocation reaches open sockets', () => {
  /** The bound: from the revoking request, sent to one replica, to the disconnect of the other's socket. */
  const BOUND_MS = 1_000;
  const TRIALS = 20;
  let directory: string;
  let database: string;
  let redis: RedisServer;
  let a: SampleApp;
  let b: SampleApp;
  const started: ChildProcess[] = [];
  const sockets: Socket[] = [];
  const run = promisify(execFile);

  /** A production key of tenant 123 made with `npm run keys -- create`: revocable by either replica's demo key. */
  async function createKey(): Promise<{ id: string; key: string }> {
    const { stdout } = await run(
      process.execPath,
      ['sample-app/dist/keys-cli.js', 'create', '--env', 'production', '--tenants', '123', '--scopes', 'messages:read'],
      { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: CHILD_NODE_OPTIONS, KEYRING_DB: database } },
    );
    return { id: /^(key_\w+)/.exec(stdout)![1]!, key: /^key: (\S+)$/m.exec(stdout)![1]! };
  }

  function connect(app: SampleApp, key: string): Promise<Socket> {
    const socket = io(app.base, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token: key },
    });
    sockets.push(socket);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  }

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'keyring-realtime-fleet-'));
    database = join(directory, 'keys.sqlite');
    redis = await startRedisServer();
    // One after the other: the first creates the database file.
    a = await startSampleApp(database, started, { PORT: String(await freePort()), REDIS_URL: redis.url });
    b = await startSampleApp(database, started, { PORT: String(await freePort()), REDIS_URL: redis.url });
  }, 120_000);

  afterAll(async () => {
    await stopAll(sockets, started);
    await redis?.stop();
    if (directory) rmSync(directory, { recursive: true, force: true });
  }, 30_000);

  it(`closes the socket one replica holds within ${BOUND_MS} ms of a revocation through the other`, async () => {
    const made: { id: string; key: string }[] = [];
    while (made.length < TRIALS)
      made.push(...(await Promise.all([createKey(), createKey(), createKey(), createKey()])));
    const latencies: number[] = [];
    for (const [index, { id, key }] of made.entries()) {
      const [from, to] = index % 2 === 0 ? [a, b] : [b, a];
      const socket = await connect(to, key);
      expect(await socket.timeout(5_000).emitWithAck('me')).toMatchObject({ success: true });
      const exception = new Promise((resolve) => socket.once('exception', resolve));
      const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
      const sentAt = performance.now();
      const revoked = await fetch(`${from.base}/api/v1/keys/${id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${from.keys.production}` },
      });
      expect(revoked.status).toBe(200);
      let timer: NodeJS.Timeout | undefined;
      const open = new Promise((resolve) => (timer = setTimeout(resolve, 5_000, 'still open')));
      const reason = await Promise.race([disconnected, open]);
      clearTimeout(timer);
      latencies.push(performance.now() - sentAt);
      expect(reason).toBe('io server disconnect');
      expect(await exception).toEqual({
        success: false,
        error: { code: 'INVALID_API_KEY', message: expect.any(String) },
      });
    }
    latencies.sort((x, y) => x - y);
    const [p50, p99] = [percentile(latencies, 50), percentile(latencies, 99)];
    console.log(
      `revocation to disconnect across replicas: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, ` +
        `max ${latencies.at(-1)!.toFixed(1)} ms, ${latencies.length} trials`,
    );
    expect(p99).toBeLessThanOrEqual(BOUND_MS);
  }, 120_000);
});
