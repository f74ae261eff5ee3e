import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  UseGuards,
  UseInterceptors,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import express from 'express';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import request from 'supertest';
import { ApiKeyModule, Keyring, KEYRING_CHANNELS, TenantInterceptor, type ApiKeyRecord } from '../lib/index.js';
import { tenantMiddleware } from '../lib/express.js';
import { InMemoryLookup } from './fixtures/in-memory-lookup.js';
import { ADAPTERS, createTestApp, type TestApp } from './fixtures/test-app.js';
import { CONFORMANCE_KEYS as K, WEBHOOK_BODY } from './conformance/conformance-cases.js';
import { HOSTS, startHost, type Host } from './conformance/conformance-hosts.js';
import { ALL_WEBHOOK_SECRETS, WEBHOOK_SECRETS } from './fixtures/webhook-secrets.js';

type Message = Record<string, unknown>;
interface Event {
  channel: string;
  message: Message;
}

/**
 * Subscribes to every nest-keyring channel and writes one timeline: each message as it is
 * published, and `finished` when a response has been handed to the socket. A message recorded
 * after its response finished would show up after `finished`.
 */
class Timeline {
  readonly entries: (Event | 'finished')[] = [];
  private readonly listeners = Object.values(KEYRING_CHANNELS).map((name) => {
    const listener = (message: unknown) => this.entries.push({ channel: name, message: message as Message });
    return [name, listener] as const;
  });

  start(): void {
    for (const [name, listener] of this.listeners) subscribe(name, listener);
  }

  finished(): void {
    this.entries.push('finished');
  }

  stop(): void {
    for (const [name, listener] of this.listeners) unsubscribe(name, listener);
  }

  /** The request-decision messages (not `lookup`), in order, with `finished` marks. */
  decisions(): ('finished' | Message)[] {
    return this.entries
      .filter((entry) => entry === 'finished' || entry.channel !== KEYRING_CHANNELS.lookup)
      .map((entry) => (entry === 'finished' ? entry : { channel: entry.channel, ...entry.message }));
  }

  lookups(): Message[] {
    return this.entries.flatMap((entry) =>
      entry !== 'finished' && entry.channel === KEYRING_CHANNELS.lookup ? [entry.message] : [],
    );
  }
}

const duration = expect.any(Number);
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const route = (method: string, path: string) => ({ method, route: path, durationMs: duration });

/** A JSON delivery to `/webhook` with `secret` as its Bearer secret. */
function postWebhook(host: Host, secret: string) {
  return request(host.server)
    .post('/webhook')
    .set(bearer(secret))
    .set('Content-Type', 'application/json')
    .send(WEBHOOK_BODY);
}

/** What `nest-keyring:refused` publishes for a refusal at `at` (a `route(...)`). */
function refusedEvent(
  reason: string,
  code: string,
  status: number,
  at: object,
  keyId?: string,
  tenantId?: string,
): Record<string, unknown> {
  return { channel: 'nest-keyring:refused', reason, code, status, keyId, tenantId, ...at };
}

describe.each(HOSTS)('diagnostics channels on %s', (hostName) => {
  let host: Host;
  let timeline: Timeline;
  beforeAll(async () => {
    host = await startHost(hostName, 'cubeconnect');
    // First of the server's listeners: 'finish' is when the response was handed to the socket.
    host.server.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
      response.once('finish', () => timeline.finished());
    });
  });
  afterAll(() => host.close());
  beforeEach(() => {
    timeline = new Timeline();
    timeline.start();
    host.handlers.length = 0;
  });
  afterEach(() => timeline.stop());

  it('publishes an admitted request, with its key id, tenant and route, before its response finishes', async () => {
    // The query string carries the key too: it must not reach a message through the route.
    const response = await request(host.server)
      .get(`/protected?api_key=${K.multiTenant}`)
      .set({
        ...bearer(K.multiTenant),
        'X-TENANT-ID': 'org-b',
      });
    expect(response.status).toBe(200);
    expect(timeline.decisions()).toEqual([
      { channel: 'nest-keyring:admitted', keyId: 'key-multi', tenantId: 'org-b', ...route('GET', '/protected') },
      'finished',
    ]);
  });

  it.each([
    ['no key', {}, '/protected', { reason: 'missing', code: 'AUTHENTICATION_REQUIRED', status: 401 }],
    ['an unknown key', bearer(K.unknown), '/protected', { reason: 'invalid', code: 'INVALID_API_KEY', status: 401 }],
    ['a revoked key', bearer(K.revoked), '/protected', { reason: 'revoked', code: 'INVALID_API_KEY', status: 401 }],
    [
      "a tenant the key isn't linked to",
      { ...bearer(K.production), 'X-TENANT-ID': '999' },
      '/protected',
      { reason: 'tenant_not_found', code: 'TENANT_NOT_FOUND', status: 403 },
    ],
  ])('publishes a refusal for %s, before its response finishes', async (_, headers, path, refusal) => {
    const response = await request(host.server).get(path).set(headers);
    expect([response.status, response.body.error?.code]).toEqual([refusal.status, refusal.code]);
    expect(host.handlers).toEqual([]);
    expect(timeline.decisions()).toEqual([
      {
        channel: 'nest-keyring:refused',
        ...refusal,
        keyId: undefined,
        tenantId: undefined,
        ...route('GET', path),
      },
      'finished',
    ]);
  });

  it('publishes a missing scope as a refusal naming the admitted key, before the 403 finishes', async () => {
    const response = await request(host.server).get('/scoped').set(bearer(K.noScopes));
    expect([response.status, response.body.error?.code]).toEqual([403, 'INSUFFICIENT_SCOPE']);
    const refused = refusedEvent(
      'insufficient_scope',
      'INSUFFICIENT_SCOPE',
      403,
      route('GET', '/scoped'),
      'key-noscopes',
      '1',
    );
    // One check admits and refuses at once; where the middleware admitted the key and the route's
    // own guard checks scopes later, each publishes its decision.
    const admittedFirst = hostName === 'nest-middleware-consumer';
    const admitted = {
      channel: 'nest-keyring:admitted',
      keyId: 'key-noscopes',
      tenantId: '1',
      ...route('GET', '/scoped'),
    };
    expect(timeline.decisions()).toEqual(admittedFirst ? [admitted, refused, 'finished'] : [refused, 'finished']);
  });

  it.each([
    ['throws', K.storeThrows, { errorName: 'Error', timedOut: false }],
    ['does not answer in time', K.storeHangs, { errorName: 'LookupTimeoutError', timedOut: true }],
  ])('publishes a store fault and its refusal when the store %s, before the 503 finishes', async (_, key, fault) => {
    const response = await request(host.server).get('/protected').set(bearer(key));
    expect([response.status, response.body.error?.code]).toEqual([503, 'KEY_STORE_UNAVAILABLE']);
    expect(timeline.decisions()).toEqual([
      refusedEvent('lookup_unavailable', 'KEY_STORE_UNAVAILABLE', 503, route('GET', '/protected')),
      {
        channel: 'nest-keyring:store-fault',
        reason: 'lookup_unavailable',
        status: 503,
        ...fault,
        ...route('GET', '/protected'),
      },
      'finished',
    ]);
    expect(timeline.lookups()).toEqual([{ cached: false, outcome: 'fault', keyId: undefined, durationMs: duration }]);
  });

  it('publishes store lookups and cache hits on nest-keyring:lookup', async () => {
    await request(host.server).get('/protected').set(bearer(K.unknown));
    await request(host.server).get('/protected').set(bearer(K.unknown));
    const first = timeline.lookups().length;
    await request(host.server).get('/protected').set(bearer(K.production));
    await request(host.server).get('/protected').set(bearer(K.production));
    const lookups = timeline.lookups();
    // The unknown key: asked once (or answered from the cache if an earlier test asked), then cached.
    expect(lookups.slice(0, first).at(-1)).toEqual({
      cached: true,
      outcome: 'unknown',
      keyId: undefined,
      durationMs: 0,
    });
    expect(lookups.slice(first).at(-1)).toEqual({ cached: true, outcome: 'found', keyId: 'key-prod', durationMs: 0 });
    for (const lookup of lookups.filter(({ cached }) => cached === false)) {
      expect(lookup.durationMs as number).toBeGreaterThanOrEqual(0);
    }
  });

  it('publishes a verified webhook, with the secret name, never the secret', async () => {
    const response = await postWebhook(host, WEBHOOK_SECRETS.connexease);
    expect(response.status).toBe(200);
    expect(timeline.decisions()).toEqual([
      {
        channel: 'nest-keyring:webhook-verified',
        secretName: 'default',
        scheme: 'bearer',
        ...route('POST', '/webhook'),
      },
      'finished',
    ]);
  });

  it('publishes a refused webhook with its reason and code, before the 401 finishes', async () => {
    const response = await postWebhook(host, WEBHOOK_SECRETS.stranger);
    expect([response.status, response.body.error?.code]).toEqual([401, 'INVALID_WEBHOOK_SECRET']);
    expect(host.handlers).toEqual([]);
    expect(timeline.decisions()).toEqual([
      {
        channel: 'nest-keyring:webhook-refused',
        reason: 'webhook_secret_invalid',
        code: 'INVALID_WEBHOOK_SECRET',
        status: 401,
        secretName: 'default',
        scheme: 'bearer',
        ...route('POST', '/webhook'),
      },
      'finished',
    ]);
  });

  it('keeps interleaved requests apart, and every message holds plain values and no key or secret', async () => {
    const answers = await Promise.all([
      request(host.server).get('/protected').set(bearer(K.production)),
      request(host.server).get('/protected').set(bearer(K.storeHangs)),
      request(host.server).get('/protected').set(bearer(K.unknown)),
      request(host.server)
        .get('/protected')
        .set({ ...bearer(K.multiTenant), 'X-TENANT-ID': 'org-b' }),
      request(host.server).post('/webhook').set(bearer(WEBHOOK_SECRETS.billingOld)).send(WEBHOOK_BODY),
    ]);
    expect(answers.map(({ status }) => status)).toEqual([200, 503, 401, 200, 401]);
    const messages = timeline.entries.flatMap((entry) => (entry === 'finished' ? [] : [entry.message]));
    const admitted = timeline.entries.flatMap((entry) =>
      entry !== 'finished' && entry.channel === KEYRING_CHANNELS.admitted ? [entry.message] : [],
    );
    expect(admitted.map(({ keyId, tenantId }) => [keyId, tenantId]).sort()).toEqual([
      ['key-multi', 'org-b'],
      ['key-prod', '1'],
    ]);
    // Five requests: five decisions, each published before one of the five responses finished.
    const decisions = timeline
      .decisions()
      .filter((entry) => typeof entry === 'string' || entry.channel !== 'nest-keyring:store-fault');
    let published = 0;
    for (const entry of decisions) {
      if (entry === 'finished') expect(published-- > 0).toBe(true);
      else published++;
    }
    for (const message of messages) {
      for (const value of Object.values(message))
        expect(['string', 'number', 'boolean', 'undefined']).toContain(typeof value);
      const text = JSON.stringify(message);
      for (const secret of [...Object.values(K), ...ALL_WEBHOOK_SECRETS]) expect(text).not.toContain(secret);
    }
  });
});

/** Stands for another authentication mechanism: the key's record from a header of its own. */
@Injectable()
class OtherAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string>; apiKey?: ApiKeyRecord }>();
    if (request.headers['x-other-auth'] === 'yes') request.apiKey = { id: 'key-other', tenants: [{ id: 5 }] };
    return request.apiKey !== undefined;
  }
}

@Controller()
class OtherAuthController {
  @UseGuards(OtherAuthGuard)
  @UseInterceptors(TenantInterceptor)
  @Get('other/:id')
  other() {
    return { ok: true };
  }
}

describe('diagnostics channels: the tenant checks of TenantInterceptor and tenantMiddleware', () => {
  let timeline: Timeline;
  beforeEach(() => {
    timeline = new Timeline();
    timeline.start();
  });
  afterEach(() => timeline.stop());

  function watch(server: Server): void {
    server.prependListener('request', (_request: IncomingMessage, response: ServerResponse) => {
      response.once('finish', () => timeline.finished());
    });
  }

  describe.each(ADAPTERS)('TenantInterceptor on %s', (adapter) => {
    let test: TestApp;
    beforeAll(async () => {
      test = await createTestApp(adapter, {
        imports: [ApiKeyModule.forRoot({ lookup: new InMemoryLookup({}) })],
        controllers: [OtherAuthController],
      });
      watch(test.app.getHttpServer() as Server);
    });
    afterAll(() => test.close());

    it("publishes its refusal of a tenant the other mechanism's key isn't linked to", async () => {
      const response = await request(test.app.getHttpServer()).get('/other/7').set({
        'x-other-auth': 'yes',
        'X-TENANT-ID': '999',
      });
      expect([response.status, response.body.error?.code]).toEqual([403, 'TENANT_NOT_FOUND']);
      expect(timeline.decisions()).toEqual([
        refusedEvent('tenant_not_found', 'TENANT_NOT_FOUND', 403, route('GET', '/other/:id'), 'key-other'),
        'finished',
      ]);
    });
  });

  describe('tenantMiddleware on plain Express', () => {
    let server: Server;
    beforeAll(async () => {
      const keyring = new Keyring({ lookup: new InMemoryLookup({}) });
      const app = express();
      app.use('/api', tenantMiddleware(keyring), (_request, response) => {
        response.json({ ok: true });
      });
      server = await new Promise<Server>((resolve) => {
        const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
      });
      watch(server);
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('publishes its refusal of a request no key was authenticated for, with the path and no query', async () => {
      const response = await request(server).get('/api/messages/42?api_key=pk_in_the_query');
      expect([response.status, response.body.error?.code]).toEqual([401, 'AUTHENTICATION_REQUIRED']);
      expect(timeline.decisions()).toEqual([
        refusedEvent('missing', 'AUTHENTICATION_REQUIRED', 401, route('GET', '/api/messages/42')),
        'finished',
      ]);
    });
  });
});
