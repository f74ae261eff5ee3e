// A key's rights hold for as long as a WebSocket uses it, on real socket.io and ws servers (on
// Express and Fastify) driven by their real clients: a revocation (`invalidateRecord`,
// `invalidateKey`, `clearCache`) closes the key's open connections with the refusal's code and no
// later message is served; a key that still holds keeps its connections; each message is counted
// against the key's rate limit.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Module, UseGuards } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import {
  ApiKeyCache,
  ApiKeyGuard,
  ApiKeyModule,
  CurrentApiKey,
  CurrentTenant,
  RequireScopes,
  type ApiKeyRecord,
  type Keyring,
  type KeyringOptions,
} from '../../lib/index.js';
import { MemoryRateLimitStore } from '../../lib/core/limits/memory-rate-limit-store.js';
import { KEYRING } from '../../lib/nest/module/api-key.constants.js';
import { withChecksum } from '../fixtures/in-memory-lookup.js';
import { HandlerLog } from '../fixtures/test-app.js';
import {
  expectNoUnhandledRejections,
  TRANSPORTS,
  type Client,
  type Credentials,
  type Transport,
} from './websocket-clients.js';

const KEY = withChecksum('pk_socketkey_1a2b3c4d');
const OTHER = withChecksum('pk_otherkey_5e6f7a8b');
const EXCEPTION = (code: string) => ({ exception: { success: false, error: { code, message: expect.any(String) } } });

/** The key store, as an app's database: records change under the app, which then invalidates. */
class Store {
  records = new Map<string, ApiKeyRecord>();
  failing = false;
  /** When the store last answered that a key is revoked (performance.now()). */
  refusedAt: number | undefined;
  readonly lookup = {
    findKey: async (key: string) => {
      if (this.failing) throw new Error('connection reset');
      const record = this.records.get(key) ?? null;
      if (record?.revoked === true) this.refusedAt ??= performance.now();
      return record;
    },
  };
  constructor() {
    this.reset();
  }
  reset(): void {
    this.records = new Map<string, ApiKeyRecord>([
      [KEY, { id: 'key-1', tenants: [{ id: 1 }, { id: 2 }], scopes: ['messages:send'] }],
      [OTHER, { id: 'key-2', tenants: [{ id: 7 }] }],
    ]);
    this.failing = false;
    this.refusedAt = undefined;
  }
  change(key: string, change: Partial<ApiKeyRecord>): void {
    this.records.set(key, { ...this.records.get(key)!, ...change });
  }
}

@UseGuards(ApiKeyGuard)
@WebSocketGateway()
class RevocationGateway {
  /** When each message of each key was served (performance.now()). */
  static served: { key: string; at: number }[] = [];

  constructor(private readonly handlers: HandlerLog) {}

  @RequireScopes('messages:send')
  @SubscribeMessage('send')
  send() {
    this.handlers.ran('send');
    return { sent: true };
  }

  @SubscribeMessage('whoami')
  whoami(@CurrentApiKey('id') keyId: string, @CurrentTenant('id') tenantId: number, @MessageBody() body: unknown) {
    RevocationGateway.served.push({ key: keyId, at: performance.now() });
    this.handlers.ran('whoami');
    return { keyId, tenantId, body };
  }
}

interface App {
  port: number;
  handlers: HandlerLog;
  cache: ApiKeyCache;
  keyring: Keyring;
  close(): Promise<void>;
}

async function startApp(
  transport: Transport,
  platform: 'express' | 'fastify',
  options: Partial<KeyringOptions>,
): Promise<App> {
  @Module({
    imports: [ApiKeyModule.forRoot({ lookup: { findKey: async () => null }, lookupTimeoutMs: 200, ...options })],
    providers: [RevocationGateway, HandlerLog],
  })
  class RevocationModule {}
  const moduleRef = await Test.createTestingModule({ imports: [RevocationModule] }).compile();
  const app = moduleRef.createNestApplication(platform === 'express' ? new ExpressAdapter() : new FastifyAdapter(), {
    logger: false,
  });
  transport.useAdapter(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return {
    port,
    handlers: app.get(HandlerLog),
    cache: app.get(ApiKeyCache),
    keyring: app.get<symbol, Keyring>(KEYRING),
    close: () => app.close(),
  };
}

/** What the client saw when the server ended its connection for `code`. */
function expectEndedFor(transport: Transport, client: Client, ended: { code?: number; reason: string }, code: string) {
  if (transport.name === 'ws') {
    expect(ended).toEqual({ code: code === 'TENANT_NOT_FOUND' ? 4403 : 4401, reason: code });
  } else {
    expect(ended.reason).toBe('io server disconnect');
    expect(client.exceptions).toEqual([EXCEPTION(code).exception]);
  }
}

async function until(condition: () => boolean | Promise<boolean>, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

expectNoUnhandledRejections();

const CASES = TRANSPORTS.flatMap((transport) =>
  (['express', 'fastify'] as const).map((platform) => [transport.name, platform, transport] as const),
);

describe.each(CASES)('revocation of a key with open %s connections, on %s', (_, platform, transport) => {
  const store = new Store();
  let app: App;
  const clients: Client[] = [];

  async function admitted(credentials: Credentials): Promise<Client> {
    const connection = await transport.connect(app.port, credentials);
    if (!connection.ok) throw new Error(`refused: ${JSON.stringify(connection.refusal)}`);
    clients.push(connection.client);
    return connection.client;
  }

  beforeAll(async () => {
    app = await startApp(transport, platform, { lookup: store.lookup });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    store.reset();
    app.cache.clear();
    app.handlers.calls.length = 0;
    RevocationGateway.served.length = 0;
  });
  afterAll(async () => {
    await app.close();
  });

  it('closes them within 100 ms of invalidateRecord, with the code, serving no later message', async () => {
    const revoked = await admitted({ headers: { 'X-API-KEY': KEY } });
    const other = await admitted({ headers: { 'X-API-KEY': OTHER } });
    expect(await revoked.send('whoami')).toEqual({ reply: expect.objectContaining({ keyId: 'key-1' }) });
    expect(app.keyring.connections.size).toBe(2);

    store.change(KEY, { revoked: true });
    const invalidatedAt = performance.now();
    app.cache.invalidateRecord('key-1');
    let ended: { code?: number; reason: string } | undefined;
    void revoked.ended.then((value) => (ended = value));
    // The client keeps sending while the server decides: nothing may be served once the store said "revoked".
    while (ended === undefined) {
      revoked.post('whoami', { late: true });
      await sleep(1);
    }
    expect(performance.now() - invalidatedAt).toBeLessThan(100);
    expectEndedFor(transport, revoked, ended, 'INVALID_API_KEY');
    const servedLate = RevocationGateway.served.filter(({ key, at }) => key === 'key-1' && at >= store.refusedAt!);
    expect(servedLate).toEqual([]);

    const handled = app.handlers.calls.length;
    expect(await other.send('whoami')).toEqual({ reply: expect.objectContaining({ keyId: 'key-2' }) });
    expect(app.handlers.calls.length).toBe(handled + 1);
    expect(app.keyring.connections.size).toBe(1);
  });

  it('closes a connection whose tenant was unlinked from its key (invalidateKey): TENANT_NOT_FOUND', async () => {
    const client = await admitted({ headers: { 'X-API-KEY': KEY, 'X-TENANT-ID': '2' } });
    const onFirstTenant = await admitted({ headers: { 'X-API-KEY': KEY } });
    store.change(KEY, { tenants: [{ id: 1 }] });
    app.cache.invalidateKey(KEY);
    expectEndedFor(transport, client, await client.ended, 'TENANT_NOT_FOUND');
    // The same key on a tenant still linked: it stays, on its tenant.
    expect(await onFirstTenant.send('whoami')).toEqual({ reply: expect.objectContaining({ tenantId: 1 }) });
  });

  it('keeps a connection whose key still holds, with its record as the store has it now', async () => {
    const client = await admitted({ headers: { 'X-API-KEY': KEY, 'X-TENANT-ID': '2' } });
    expect(await client.send('send')).toEqual({ reply: { sent: true } });
    // A scope taken away: the next messages are checked against the record as it is now.
    store.change(KEY, { scopes: [], tenants: [{ id: 2 }, { id: 1 }] });
    app.cache.invalidateRecord('key-1');
    await until(async () => 'exception' in (await client.send('send')));
    expect(await client.send('send')).toEqual(EXCEPTION('INSUFFICIENT_SCOPE'));
    // Still open, still on the tenant it chose, though it is no longer the key's first.
    expect(await client.send('whoami')).toEqual({ reply: expect.objectContaining({ keyId: 'key-1', tenantId: 2 }) });
    expect(app.handlers.calls).toEqual(['send', 'whoami']);
  });

  it('keeps the connections while the store cannot answer, and closes the revoked one once it can', async () => {
    const client = await admitted({ headers: { 'X-API-KEY': KEY } });
    store.failing = true;
    store.change(KEY, { revoked: true });
    app.cache.invalidateRecord('key-1');
    await sleep(300);
    // Not closed on doubt: an outage (or a flood throttling lookups) never cuts a valid key.
    expect(await client.send('whoami')).toEqual({ reply: expect.objectContaining({ keyId: 'key-1' }) });
    store.failing = false;
    expectEndedFor(transport, client, await client.ended, 'INVALID_API_KEY');
  });

  it('checks every connection on clearCache: the revoked one closed, the other kept', async () => {
    const revoked = await admitted({ headers: { 'X-API-KEY': KEY } });
    const other = await admitted({ headers: { 'X-API-KEY': OTHER } });
    store.change(KEY, { revoked: true });
    app.cache.clear();
    expectEndedFor(transport, revoked, await revoked.ended, 'INVALID_API_KEY');
    expect(await other.send('whoami')).toEqual({ reply: expect.objectContaining({ keyId: 'key-2' }) });
  });

  it('forgets every connection that closed, whoever closed it', async () => {
    const revoked = await admitted({ headers: { 'X-API-KEY': KEY } });
    const other = await admitted({ headers: { 'X-API-KEY': OTHER } });
    expect(app.keyring.connections.size).toBe(2);
    store.change(KEY, { revoked: true });
    app.cache.invalidateRecord('key-1');
    await revoked.ended;
    await other.close();
    await until(() => app.keyring.connections.size === 0);
    expect(app.keyring.connections.size).toBe(0);
  });
});

describe.each(TRANSPORTS.map((transport) => [transport.name, transport] as const))(
  'rate limits on %s connections',
  (_, transport) => {
    const apps: App[] = [];
    const clients: Client[] = [];
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((client) => client.close()));
      await Promise.all(apps.splice(0).map((app) => app.close()));
    });

    async function start(limit: number, options: Partial<KeyringOptions> = {}) {
      const store = new Store();
      store.change(KEY, { rateLimit: { limit, windowMs: 60_000 } });
      const app = await startApp(transport, 'express', { lookup: store.lookup, ...options });
      apps.push(app);
      return app;
    }

    it('counts each message: a key limited to 4 a minute gets its handshake and 3 of 10 messages', async () => {
      const app = await start(4);
      const connection = await transport.connect(app.port, { headers: { 'X-API-KEY': KEY } });
      if (!connection.ok) throw new Error('refused');
      clients.push(connection.client);
      const outcomes = [];
      for (let index = 0; index < 10; index++) outcomes.push(await connection.client.send('whoami', { index }));
      expect(outcomes.filter((outcome) => 'reply' in outcome)).toHaveLength(3);
      expect(outcomes.slice(3)).toEqual(Array.from({ length: 7 }, () => EXCEPTION('RATE_LIMITED')));
      expect(app.handlers.calls).toEqual(['whoami', 'whoami', 'whoami']);
      // The connection stays open: the limit refuses messages, it does not end the connection.
      expect(app.keyring.connections.size).toBe(1);
      // A new handshake is refused like an HTTP request over the limit.
      const refused = await transport.connect(app.port, { headers: { 'X-API-KEY': KEY } });
      expect(refused.ok ? 'admitted' : refused.refusal.code).toBe('RATE_LIMITED');
    });

    it('waits for a store that answers later (Redis), and serves the messages within the limit', async () => {
      const memory = new MemoryRateLimitStore();
      const store = {
        hit: async (id: string, windowMs: number) => {
          await sleep(5);
          return memory.hit(id, windowMs);
        },
      };
      const app = await start(4, { rateLimit: { store } });
      const connection = await transport.connect(app.port, { headers: { 'X-API-KEY': KEY } });
      if (!connection.ok) throw new Error('refused');
      clients.push(connection.client);
      const outcomes = [];
      for (let index = 0; index < 5; index++) outcomes.push(await connection.client.send('whoami', { index }));
      expect(outcomes.slice(0, 3)).toEqual(
        [0, 1, 2].map((index) => ({ reply: expect.objectContaining({ keyId: 'key-1', body: { index } }) })),
      );
      expect(outcomes.slice(3)).toEqual([EXCEPTION('RATE_LIMITED'), EXCEPTION('RATE_LIMITED')]);
      expect(app.handlers.calls).toHaveLength(3);
    });

    it('counts handshakes only with rateLimit.countSocketMessages: false', async () => {
      const app = await start(1, { rateLimit: { countSocketMessages: false } });
      const connection = await transport.connect(app.port, { headers: { 'X-API-KEY': KEY } });
      if (!connection.ok) throw new Error('refused');
      clients.push(connection.client);
      for (let index = 0; index < 10; index++) {
        expect(await connection.client.send('whoami', { index })).toEqual({ reply: expect.anything() });
      }
      expect(app.handlers.calls).toHaveLength(10);
      const second = await transport.connect(app.port, { headers: { 'X-API-KEY': KEY } });
      expect(second.ok ? 'admitted' : second.refusal.code).toBe('RATE_LIMITED');
    });
  },
);
