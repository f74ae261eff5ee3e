// WebSocket gateways behind nest-keyring, on real servers of both transports (socket.io and ws)
// listening on 127.0.0.1, driven by their real clients: the key checked once, in the handshake,
// refusals in the handshake with the error code, the connection's key and tenant in every
// message handler, scopes per message.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { fileURLToPath } from 'node:url';
import { Injectable, Module, UseGuards } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
} from '@nestjs/websockets';
import {
  ApiKeyGuard,
  ApiKeyModule,
  CurrentApiKey,
  CurrentTenant,
  KEYRING_CHANNELS,
  Public,
  RequireScopes,
  TenantContext,
  type ApiKeyRecord,
  type KeyringOptions,
} from '../../lib/index.js';
import { KeyringIoAdapter } from '../../lib/socket.io.js';
import { KeyringWsAdapter } from '../../lib/ws.js';
import { demoRecords, InMemoryLookup, KEYS, withChecksum } from '../fixtures/in-memory-lookup.js';
import { CapturingLogger, HandlerLog } from '../fixtures/test-app.js';
import type { Socket as ServerSocket } from 'socket.io';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import {
  expectNoUnhandledRejections,
  TRANSPORTS,
  type Client,
  type Connection,
  type Credentials,
  type Transport,
} from './websocket-clients.js';
import { CHILD_NODE_OPTIONS } from '../support/child-env.js';

const MULTI = withChecksum('pk_multi_2b3c4d5e');
const READER = withChecksum('pk_reader_6f7a8b9c');
const SHORT_LIVED = withChecksum('pk_shortlived_1a2b3c');

function records(): Record<string, ApiKeyRecord> {
  return {
    ...demoRecords(),
    [MULTI]: { id: 'key-multi', tenants: [{ id: 1 }, { id: 2 }], scopes: ['messages:read', 'messages:send'] },
    [READER]: { id: 'key-reader', tenants: [{ id: 7 }], scopes: ['messages:read'] },
  };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

@Injectable()
class ConnectionLog {
  readonly connected: unknown[] = [];
  readonly disconnected: unknown[] = [];
}

/** A gateway on the app's own port: what each handler sees of the connection's key and tenant. */
@UseGuards(ApiKeyGuard)
@WebSocketGateway()
class EchoGateway implements OnGatewayConnection, OnGatewayDisconnect {
  constructor(
    private readonly tenants: TenantContext,
    private readonly handlers: HandlerLog,
    private readonly connections: ConnectionLog,
  ) {}

  handleConnection(): void {
    this.connections.connected.push(this.tenants.find()?.id);
  }

  handleDisconnect(): void {
    this.connections.disconnected.push(this.tenants.find()?.id);
  }

  @SubscribeMessage('whoami')
  async whoami(
    @CurrentApiKey('id') keyId: string,
    @CurrentTenant('id') tenantId: number,
    @MessageBody() body: { waitMs?: number; tag?: string },
  ) {
    this.handlers.ran('whoami');
    const before = this.tenants.tenantId;
    // Lets the other connections' messages run in between.
    await delay(body?.waitMs ?? 0);
    return { keyId, tenantId, before, after: this.tenants.tenantId, tag: body?.tag };
  }

  @RequireScopes('messages:send')
  @SubscribeMessage('send')
  send() {
    this.handlers.ran('send');
    return { sent: true, tenant: this.tenants.tenantId };
  }

  @Public()
  @SubscribeMessage('ping')
  ping() {
    this.handlers.ran('ping');
    return { pong: true };
  }
}

interface GatewayApp {
  port: number;
  handlers: HandlerLog;
  connections: ConnectionLog;
  logger: CapturingLogger;
  lookup: InMemoryLookup;
  close(): Promise<void>;
}

async function startGatewayApp(transport: Transport, options: Partial<KeyringOptions> = {}): Promise<GatewayApp> {
  const lookup = new InMemoryLookup(records());
  @Module({
    imports: [ApiKeyModule.forRoot({ lookup, lookupTimeoutMs: 200, ...options })],
    providers: [EchoGateway, HandlerLog, ConnectionLog],
  })
  class GatewayModule {}
  const moduleRef = await Test.createTestingModule({ imports: [GatewayModule] }).compile();
  const logger = new CapturingLogger();
  const app = moduleRef.createNestApplication({ logger });
  transport.useAdapter(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return {
    port,
    logger,
    lookup,
    handlers: app.get(HandlerLog),
    connections: app.get(ConnectionLog),
    close: () => app.close(),
  };
}

expectNoUnhandledRejections();

describe.each(TRANSPORTS.map((transport) => [transport.name, transport] as const))('gateways on %s', (_, transport) => {
  let app: GatewayApp;
  const clients: Client[] = [];

  /** Connects, and remembers the client so that it is closed after the test. */
  async function connect(credentials: Credentials): Promise<Connection> {
    const connection = await transport.connect(app.port, credentials);
    if (connection.ok) clients.push(connection.client);
    return connection;
  }

  async function admitted(credentials: Credentials): Promise<Client> {
    const connection = await connect(credentials);
    if (!connection.ok) throw new Error(`refused: ${JSON.stringify(connection.refusal)}`);
    return connection.client;
  }

  beforeAll(async () => {
    app = await startGatewayApp(transport);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    app.handlers.calls.length = 0;
    app.connections.connected.length = 0;
  });
  afterAll(async () => {
    await app.close();
  });

  it.each([
    ['Authorization: Bearer', { headers: { Authorization: `Bearer ${KEYS.production}` } }],
    ['X-API-KEY', { headers: { 'X-API-KEY': KEYS.production } }],
  ])('admits a key in %s, and every handler sees its key and tenant', async (_, credentials) => {
    const client = await admitted(credentials);
    expect(await client.send('whoami')).toEqual({ reply: { keyId: 'key-prod', tenantId: 1, before: 1, after: 1 } });
    expect(app.handlers.calls).toEqual(['whoami']);
    expect(app.connections.connected).toEqual([1]);
  });

  it('picks the tenant from X-TENANT-ID, as on HTTP', async () => {
    const client = await admitted({ headers: { 'X-API-KEY': MULTI, 'X-TENANT-ID': '2' } });
    expect(await client.send('whoami')).toEqual({ reply: { keyId: 'key-multi', tenantId: 2, before: 2, after: 2 } });
  });

  it.each([
    ['no key', {}, 401, 'AUTHENTICATION_REQUIRED'],
    ['a key not in Bearer form', { headers: { Authorization: `Bearer  ${KEYS.production}` } }, 401, 'INVALID_API_KEY'],
    ['a key with a bad checksum', { headers: { 'X-API-KEY': 'pk_live_7f3a9c2e1b4dXXXXXX' } }, 401, 'INVALID_API_KEY'],
    ['an unknown key', { headers: { 'X-API-KEY': KEYS.unknown } }, 401, 'INVALID_API_KEY'],
    ['an expired key', { headers: { 'X-API-KEY': KEYS.expired } }, 401, 'INVALID_API_KEY'],
    ['a revoked key', { headers: { 'X-API-KEY': KEYS.revoked } }, 401, 'INVALID_API_KEY'],
    [
      'two different keys',
      { headers: { 'X-API-KEY': KEYS.production, Authorization: `Bearer ${MULTI}` } },
      401,
      'INVALID_API_KEY',
    ],
    [
      'a tenant the key is not linked to',
      { headers: { 'X-API-KEY': KEYS.production, 'X-TENANT-ID': '999' } },
      403,
      'TENANT_NOT_FOUND',
    ],
    ['a key store that fails', { headers: { 'X-API-KEY': KEYS.storeThrows } }, 503, 'KEY_STORE_UNAVAILABLE'],
    ['a key store that hangs', { headers: { 'X-API-KEY': KEYS.storeHangs } }, 503, 'KEY_STORE_UNAVAILABLE'],
  ] as [string, Credentials, number, string][])(
    'refuses %s in the handshake, with the code, and runs no handler',
    async (_, credentials, status, code) => {
      const connection = await connect(credentials);
      expect(connection.ok).toBe(false);
      if (connection.ok) return;
      const { refusal } = connection;
      expect(refusal.code).toBe(code);
      expect(refusal.body).toEqual({ success: false, error: { code, message: expect.any(String) } });
      if (transport.name === 'ws') {
        expect(refusal.status).toBe(status);
        if (status === 401) expect(refusal.headers?.['www-authenticate']).toMatch(/^Bearer/);
      }
      expect(app.connections.connected).toEqual([]);
      expect(app.handlers.calls).toEqual([]);
    },
  );

  it('logs a store fault without the key, and answers the next client once the store is back', async () => {
    await connect({ headers: { 'X-API-KEY': KEYS.storeThrows } });
    expect(app.logger.lines.join('\n')).toContain('API key lookup failed; answered 503');
    expect(app.logger.lines.join('\n')).not.toContain(KEYS.storeThrows);
    expect((await connect({ headers: { 'X-API-KEY': KEYS.production } })).ok).toBe(true);
  });

  it('refuses a key header sent on two lines, as on HTTP, even with the same key twice', async () => {
    for (const name of ['Authorization', 'X-API-KEY']) {
      const value = name === 'Authorization' ? `Bearer ${KEYS.production}` : KEYS.production;
      const connection = await connect({ headers: { [name]: [value, value] } });
      expect(connection.ok ? 'admitted' : connection.refusal.code).toBe('INVALID_API_KEY');
    }
    const tenants = await connect({ headers: { 'X-API-KEY': MULTI, 'X-TENANT-ID': ['1', '1'] } });
    expect(tenants.ok ? 'admitted' : tenants.refusal.code).toBe('INVALID_API_KEY');
    expect(app.handlers.calls).toEqual([]);
  });

  it('keeps each connection on its own tenant while their messages interleave', async () => {
    const first = await admitted({ headers: { 'X-API-KEY': MULTI, 'X-TENANT-ID': '1' } });
    const second = await admitted({ headers: { 'X-API-KEY': MULTI, 'X-TENANT-ID': '2' } });
    const third = await admitted({ headers: { 'X-API-KEY': READER } });
    // The first waits longest: the others' messages start and finish while it waits.
    const outcomes = await Promise.all([
      first.send('whoami', { waitMs: 60, tag: 'a' }),
      second.send('whoami', { waitMs: 20, tag: 'b' }),
      third.send('whoami', { waitMs: 0, tag: 'c' }),
      second.send('whoami', { waitMs: 40, tag: 'd' }),
    ]);
    expect(outcomes.map((outcome) => (outcome as { reply: unknown }).reply)).toEqual([
      { keyId: 'key-multi', tenantId: 1, before: 1, after: 1, tag: 'a' },
      { keyId: 'key-multi', tenantId: 2, before: 2, after: 2, tag: 'b' },
      { keyId: 'key-reader', tenantId: 7, before: 7, after: 7, tag: 'c' },
      { keyId: 'key-multi', tenantId: 2, before: 2, after: 2, tag: 'd' },
    ]);
  });

  it('checks scopes per message: the code, no handler run, the connection lives on', async () => {
    const reader = await admitted({ headers: { 'X-API-KEY': READER } });
    const refused = await reader.send('send');
    expect(refused).toEqual({
      exception: { success: false, error: { code: 'INSUFFICIENT_SCOPE', message: expect.any(String) } },
    });
    expect(app.handlers.calls).toEqual([]);
    expect(await reader.send('whoami')).toEqual({ reply: { keyId: 'key-reader', tenantId: 7, before: 7, after: 7 } });

    const sender = await admitted({ headers: { Authorization: `Bearer ${MULTI}` } });
    expect(await sender.send('send')).toEqual({ reply: { sent: true, tenant: 1 } });
    expect(app.handlers.calls).toEqual(['whoami', 'send']);
  });

  it('checks the key once per connection: its messages never ask the store again', async () => {
    const client = await admitted({ headers: { 'X-API-KEY': READER } });
    const lookups = app.lookup.calls.length;
    for (let index = 0; index < 5; index++) await client.send('whoami');
    expect(app.lookup.calls.length).toBe(lookups);
  });

  it('survives a client that leaves while its handshake waits for the store, and serves the next one', async () => {
    const url = transport.name === 'ws' ? `ws://127.0.0.1:${app.port}/` : `http://127.0.0.1:${app.port}`;
    const headers = { 'X-API-KEY': KEYS.storeHangs };
    if (transport.name === 'ws') {
      const socket = new WebSocket(url, { headers });
      socket.on('error', () => undefined);
      await delay(50);
      socket.terminate();
    } else {
      const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: headers });
      socket.on('connect_error', () => undefined);
      await delay(50);
      socket.close();
    }
    // The store's answer (a timeout) comes after the client left.
    await delay(300);
    const next = await admitted({ headers: { 'X-API-KEY': READER } });
    expect(await next.send('whoami')).toEqual({ reply: { keyId: 'key-reader', tenantId: 7, before: 7, after: 7 } });
    expect(app.connections.connected).toEqual([7]);
  });

  it('runs the disconnect handler as the connection’s tenant', async () => {
    const client = await admitted({ headers: { 'X-API-KEY': READER } });
    const before = app.connections.disconnected.length;
    await client.close();
    await delay(50);
    expect(app.connections.disconnected.slice(before)).toEqual([7]);
  });
});

describe('socket.io auth payload', () => {
  const transport = TRANSPORTS.find((candidate) => candidate.name === 'socket.io')!;
  let app: GatewayApp;
  const clients: Client[] = [];

  async function connect(credentials: Credentials): Promise<Connection> {
    const connection = await transport.connect(app.port, credentials);
    if (connection.ok) clients.push(connection.client);
    return connection;
  }

  beforeAll(async () => {
    app = await startGatewayApp(transport);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    app.handlers.calls.length = 0;
  });
  afterAll(async () => {
    await app.close();
  });

  it('admits auth: { token }, with auth: { tenant } picking the tenant', async () => {
    const plain = await connect({ auth: { token: MULTI } });
    expect(plain.ok && (await plain.client.send('whoami'))).toEqual({
      reply: { keyId: 'key-multi', tenantId: 1, before: 1, after: 1 },
    });
    for (const tenant of ['2', 2]) {
      const chosen = await connect({ auth: { token: MULTI, tenant } });
      expect(chosen.ok && (await chosen.client.send('whoami'))).toEqual({
        reply: { keyId: 'key-multi', tenantId: 2, before: 2, after: 2 },
      });
    }
  });

  it.each([
    ['a tenant the key is not linked to', { auth: { token: MULTI, tenant: '999' } }, 'TENANT_NOT_FOUND'],
    ['an unknown key', { auth: { token: KEYS.unknown } }, 'INVALID_API_KEY'],
    ['a token that is not a string', { auth: { token: 42 } }, 'INVALID_API_KEY'],
    ['a token with its scheme', { auth: { token: `Bearer ${MULTI}` } }, 'INVALID_API_KEY'],
    [
      'a token and a header with another key',
      { auth: { token: MULTI }, headers: { 'X-API-KEY': KEYS.production } },
      'INVALID_API_KEY',
    ],
    [
      'a tenant and a header naming another',
      { auth: { token: MULTI, tenant: '1' }, headers: { 'X-TENANT-ID': '2' } },
      'INVALID_API_KEY',
    ],
  ] as [string, Credentials, string][])('refuses %s in the handshake', async (_, credentials, code) => {
    const connection = await connect(credentials);
    expect(connection.ok ? 'admitted' : connection.refusal.code).toBe(code);
    expect(app.handlers.calls).toEqual([]);
  });

  it('admits a token and a header that carry the same key', async () => {
    const connection = await connect({
      auth: { token: MULTI, tenant: '2' },
      headers: { 'X-API-KEY': MULTI, 'X-TENANT-ID': '2' },
    });
    expect(connection.ok).toBe(true);
  });
});

describe.each(TRANSPORTS.map((transport) => [transport.name, transport] as const))(
  'a key that expires while its %s connection is open',
  (_, transport) => {
    it('closes the connection with the code of an expired key', async () => {
      const app = await startGatewayApp(transport, {
        lookup: {
          findKey: async (key) =>
            key === SHORT_LIVED ? { id: 'key-short', tenants: [{ id: 3 }], expiresAt: Date.now() + 300 } : null,
        },
      });
      try {
        const connection = await transport.connect(app.port, { headers: { 'X-API-KEY': SHORT_LIVED } });
        if (!connection.ok) throw new Error('refused');
        const { client } = connection;
        expect(await client.send('whoami')).toEqual({
          reply: { keyId: 'key-short', tenantId: 3, before: 3, after: 3 },
        });
        const ended = await client.ended;
        if (transport.name === 'ws') expect(ended).toEqual({ code: 4401, reason: 'INVALID_API_KEY' });
        else {
          expect(ended.reason).toBe('io server disconnect');
          expect(client.exceptions).toEqual([
            { success: false, error: { code: 'INVALID_API_KEY', message: expect.any(String) } },
          ]);
        }
      } finally {
        await app.close();
      }
    });
  },
);

/** A gateway in a socket.io namespace of its own, on an app where `protectAllRoutes` guards everything. */
@WebSocketGateway({ namespace: 'chat' })
class ChatGateway {
  constructor(private readonly handlers: HandlerLog) {}

  @RequireScopes('messages:send')
  @SubscribeMessage('say')
  say(@CurrentTenant('id') tenantId: number) {
    this.handlers.ran('say');
    return { said: true, tenantId };
  }
}

describe('socket.io namespaces, and gateways under protectAllRoutes', () => {
  const transport = TRANSPORTS.find((candidate) => candidate.name === 'socket.io')!;

  it('checks the handshake of every namespace, and the scopes of a gateway the app-wide guard covers', async () => {
    @Module({
      imports: [ApiKeyModule.forRoot({ lookup: new InMemoryLookup(records()), protectAllRoutes: true })],
      providers: [EchoGateway, ChatGateway, HandlerLog, ConnectionLog],
    })
    class ChatModule {}
    const moduleRef = await Test.createTestingModule({ imports: [ChatModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    transport.useAdapter(app);
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    const clients: Client[] = [];
    try {
      const refused = await transport.connect(port, {}, '/chat');
      expect(refused.ok ? 'admitted' : refused.refusal.code).toBe('AUTHENTICATION_REQUIRED');

      const reader = await transport.connect(port, { auth: { token: READER } }, '/chat');
      if (!reader.ok) throw new Error('refused');
      clients.push(reader.client);
      expect(await reader.client.send('say')).toEqual({
        exception: { success: false, error: { code: 'INSUFFICIENT_SCOPE', message: expect.any(String) } },
      });

      const sender = await transport.connect(port, { auth: { token: MULTI, tenant: 2 } }, '/chat');
      if (!sender.ok) throw new Error('refused');
      clients.push(sender.client);
      expect(await sender.client.send('say')).toEqual({ reply: { said: true, tenantId: 2 } });
      expect(app.get(HandlerLog).calls).toEqual(['say']);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await app.close();
    }
  });
});

describe('a gateway behind ApiKeyGuard served by a plain adapter', () => {
  it('refuses every message loudly, never lets one through', async () => {
    const { IoAdapter } = await import('@nestjs/platform-socket.io');
    @Module({
      imports: [ApiKeyModule.forRoot({ lookup: new InMemoryLookup(records()) })],
      providers: [EchoGateway, HandlerLog, ConnectionLog],
    })
    class PlainModule {}
    const moduleRef = await Test.createTestingModule({ imports: [PlainModule] }).compile();
    const logger = new CapturingLogger();
    const app = moduleRef.createNestApplication({ logger });
    app.useWebSocketAdapter(new IoAdapter(app));
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    const connection = await TRANSPORTS[0]!.connect(port, {});
    try {
      if (!connection.ok) throw new Error('a plain adapter refused a connection');
      expect(await connection.client.send('whoami')).toEqual({
        exception: { status: 'error', message: 'Internal server error', cause: expect.anything() },
      });
      expect(app.get(HandlerLog).calls).toEqual([]);
      expect(logger.lines.join('\n')).toContain('was not checked in its handshake');
    } finally {
      if (connection.ok) await connection.client.close();
      await app.close();
    }
  });
});

/** A gateway whose sessions socket.io restores after a dropped connection. */
@WebSocketGateway({ namespace: 'recovering', connectionStateRecovery: {} })
class RecoveringGateway {
  @SubscribeMessage('whoami')
  whoami(
    @ConnectedSocket() client: ServerSocket,
    @CurrentApiKey('id') keyId: string,
    @CurrentTenant('id') tenantId: number,
  ) {
    // A broadcast: socket.io restores only a session that received one (its offset).
    client.nsp.emit('seen', keyId);
    return { keyId, tenantId };
  }
}

describe('socket.io connection state recovery', () => {
  it('checks a restored session in its handshake again, as socket.io would otherwise skip it', async () => {
    const lookup = new InMemoryLookup(records());
    @Module({
      imports: [ApiKeyModule.forRoot({ lookup, cache: false, protectAllRoutes: true })],
      providers: [RecoveringGateway],
    })
    class RecoveringModule {}
    const moduleRef = await Test.createTestingModule({ imports: [RecoveringModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.useWebSocketAdapter(new KeyringIoAdapter(app));
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    const socket = io(`http://127.0.0.1:${port}/recovering`, {
      transports: ['websocket'],
      auth: { token: MULTI, tenant: 2 },
      reconnectionDelay: 10,
    });
    try {
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      expect(await socket.timeout(5_000).emitWithAck('whoami', {})).toEqual({ keyId: 'key-multi', tenantId: 2 });
      const handshakes = lookup.calls.length;
      // The connection drops; the client reconnects and socket.io restores its session.
      const reconnected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.io.engine.close();
      await reconnected;
      expect(socket.recovered).toBe(true);
      expect(lookup.calls.length).toBe(handshakes + 1);
      expect(await socket.timeout(5_000).emitWithAck('whoami', {})).toEqual({ keyId: 'key-multi', tenantId: 2 });
    } finally {
      socket.close();
      await app.close();
    }
  });
});

describe('the root entry', () => {
  it('loads no WebSocket library: they load from nest-keyring/socket.io and nest-keyring/ws only', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const script =
      "require('./dist/cjs/index.js'); const loaded = Object.keys(require.cache); " +
      'const pattern = /node_modules\\/(socket\\.io|engine\\.io|ws|' +
      '@nestjs\\/(websockets|platform-socket\\.io|platform-ws))\\//;' +
      'console.log(JSON.stringify({ total: loaded.length, sockets: loaded.filter((path) => pattern.test(path)) }));';
    const loaded = JSON.parse(
      execFileSync(process.execPath, ['-e', script], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: CHILD_NODE_OPTIONS },
      }),
    ) as { total: number; sockets: string[] };
    expect(loaded.total).toBeGreaterThan(10);
    expect(loaded.sockets).toEqual([]);
  });
});

describe.each(TRANSPORTS.map((transport) => [transport.name, transport] as const))(
  'gateways on %s in a Fastify app',
  (_, transport) => {
    it('admits a key and refuses a missing one in the handshake, as on Express', async () => {
      @Module({
        imports: [ApiKeyModule.forRoot({ lookup: new InMemoryLookup(records()) })],
        providers: [EchoGateway, HandlerLog, ConnectionLog],
      })
      class FastifyGatewayModule {}
      const moduleRef = await Test.createTestingModule({ imports: [FastifyGatewayModule] }).compile();
      const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
      transport.useAdapter(app);
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as { port: number };
      const admitted = await transport.connect(port, { headers: { 'X-API-KEY': MULTI, 'X-TENANT-ID': '2' } });
      try {
        if (!admitted.ok) throw new Error('refused');
        expect(await admitted.client.send('whoami')).toEqual({
          reply: { keyId: 'key-multi', tenantId: 2, before: 2, after: 2 },
        });
        const refused = await transport.connect(port, {});
        expect(refused.ok ? 'admitted' : refused.refusal.code).toBe('AUTHENTICATION_REQUIRED');
        expect(app.get(HandlerLog).calls).toEqual(['whoami']);
      } finally {
        if (admitted.ok) await admitted.client.close();
        await app.close();
      }
    });
  },
);

describe.each(TRANSPORTS.map((transport) => [transport.name, transport] as const))(
  'handshakes on %s, decided as HTTP requests are',
  (_, transport) => {
    let app: GatewayApp | undefined;
    afterEach(async () => {
      await app?.close();
      app = undefined;
    });

    it("budgets unknown keys per client: one address's forged keys never refuse another's valid key", async () => {
      const unknownKeyLookups = { perSecond: 1000, burst: 1000, perClientPerSecond: 1, perClientBurst: 3 };
      app = await startGatewayApp(transport, { unknownKeyLookups });
      const codes: string[] = [];
      for (let index = 0; index < 6; index++) {
        const forged = { headers: { 'X-API-KEY': withChecksum(`pk_unknown_flood${index}`) }, from: '127.0.0.2' };
        const connection = await transport.connect(app.port, forged);
        codes.push(connection.ok ? 'admitted' : connection.refusal.code);
      }
      // The flooding address spent its budget (a token comes back each second): its next unknown
      // keys are not even looked up.
      expect(codes.slice(0, 3)).toEqual(Array(3).fill('INVALID_API_KEY'));
      expect(codes.at(-1)).toBe('KEY_STORE_UNAVAILABLE');
      expect(app.lookup.calls.length).toBe(codes.filter((code) => code === 'INVALID_API_KEY').length);

      const valid = await transport.connect(app.port, { headers: { 'X-API-KEY': KEYS.production }, from: '127.0.0.3' });
      if (!valid.ok) throw new Error(`refused: ${JSON.stringify(valid.refusal)}`);
      expect(await valid.client.send('whoami')).toEqual({
        reply: { keyId: 'key-prod', tenantId: 1, before: 1, after: 1 },
      });
      await valid.client.close();
    });

    it('publishes each handshake on the diagnostics channels, never its key', async () => {
      app = await startGatewayApp(transport);
      const seen: { channel: string; message: unknown }[] = [];
      const listeners = (['admitted', 'refused'] as const).map((name) => {
        const listener = (message: unknown) => seen.push({ channel: name, message });
        diagnostics.subscribe(KEYRING_CHANNELS[name], listener);
        return () => diagnostics.unsubscribe(KEYRING_CHANNELS[name], listener);
      });
      try {
        const admitted = await transport.connect(app.port, { headers: { 'X-API-KEY': KEYS.production } });
        if (admitted.ok) await admitted.client.close();
        await transport.connect(app.port, { headers: { 'X-API-KEY': KEYS.unknown } });
        // An auth payload that cannot stand for headers is refused before any key is read.
        if (transport.name === 'socket.io') await transport.connect(app.port, { auth: { token: 42 } });
      } finally {
        for (const stop of listeners) stop();
      }
      const route = { method: 'GET', route: '/', durationMs: expect.any(Number) };
      expect(seen).toEqual([
        { channel: 'admitted', message: { keyId: 'key-prod', tenantId: '1', ...route } },
        {
          channel: 'refused',
          message: {
            reason: 'invalid',
            code: 'INVALID_API_KEY',
            status: 401,
            keyId: undefined,
            tenantId: undefined,
            ...route,
          },
        },
        ...(transport.name === 'socket.io'
          ? [{ channel: 'refused', message: expect.objectContaining({ reason: 'malformed', ...route }) }]
          : []),
      ]);
      expect(JSON.stringify(seen)).not.toContain(KEYS.unknown);
    });
  },
);

/** A ws gateway with a verifyClient of its own, which runs after the key check. */
@WebSocketGateway({
  path: '/checked',
  verifyClient: (info: { req: { headers: Record<string, unknown> } }) => info.req.headers['x-client'] === 'allowed',
})
class CheckedGateway {
  @SubscribeMessage('whoami')
  whoami(@CurrentApiKey('id') keyId: string) {
    return { keyId };
  }
}

describe("a ws gateway's own verifyClient", () => {
  it('runs after the key check: both must admit the upgrade', async () => {
    @Module({
      imports: [ApiKeyModule.forRoot({ lookup: new InMemoryLookup(records()) })],
      providers: [CheckedGateway],
    })
    class CheckedModule {}
    const moduleRef = await Test.createTestingModule({ imports: [CheckedModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.useWebSocketAdapter(new KeyringWsAdapter(app));
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    const upgrade = (headers: Record<string, string>) =>
      new Promise<number | 'open'>((resolve) => {
        const socket = new WebSocket(`ws://127.0.0.1:${port}/checked`, { headers });
        socket.on('error', () => undefined);
        socket.once('open', () => {
          socket.close();
          resolve('open');
        });
        socket.once('unexpected-response', (request, response) => {
          request.destroy();
          resolve(response.statusCode!);
        });
      });
    try {
      expect(await upgrade({ 'X-API-KEY': MULTI, 'X-Client': 'allowed' })).toBe('open');
      expect(await upgrade({ 'X-API-KEY': MULTI })).toBe(401);
      expect(await upgrade({ 'X-Client': 'allowed' })).toBe(401);
      expect(await upgrade({ 'X-API-KEY': KEYS.production, 'X-TENANT-ID': '999', 'X-Client': 'allowed' })).toBe(403);
    } finally {
      await app.close();
    }
  });
});
