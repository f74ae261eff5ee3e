// The sample app as users start it (`node sample-app/dist/main.js`, built by tsc), its socket.io
// gateway driven by the real client: a message sent over REST is pushed to its own tenant's
// sockets only, and a refused handshake carries the code.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { CHILD_NODE_OPTIONS } from '../support/child-env.js';

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

/** Builds and starts the sample app on a port the system picks, with a database of its own. */
async function startSampleApp(database: string, started: ChildProcess[]): Promise<SampleApp> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'sample-app/tsconfig.json'], { cwd: root, stdio: 'pipe' });
  const child = spawn(process.execPath, ['--import', REPORT_PORT, 'sample-app/dist/main.js'], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: CHILD_NODE_OPTIONS, NO_COLOR: '1', PORT: '0', KEYRING_DB: database },
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
    for (const socket of sockets) socket.close();
    for (const child of started) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
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
