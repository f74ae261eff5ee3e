import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ApiKeyAuth, ApiKeyModule, WebhookSecret, type ApiKeyLookup, type ApiKeyRecord } from '../lib/index.js';
import { CONFORMANCE_KEYS } from './conformance/conformance-cases.js';
import { HOSTS, startHost, type Host } from './conformance/conformance-hosts.js';
import { withChecksum } from './fixtures/in-memory-lookup.js';
import { ADAPTERS, createTestApp, type AdapterName, type TestApp } from './fixtures/test-app.js';
import { routesController } from './fixtures/routes-controller.js';
import { signedHeaders, SIGNING_SECRETS, WEBHOOK_SECRETS, webhookSecretsOption } from './fixtures/webhook-secrets.js';

// Values a penetration tester tries in every header: none may grant, run a handler or crash.
const HOSTILE_VALUES = [
  '',
  ' ',
  'Bearer',
  'Bearer ',
  'Bearer  ',
  'Basic dXNlcjpwYXNz',
  'Token abc',
  'Digest username="a"',
  'NTLM TlRMTVNTUAAB',
  'Bearer a b',
  'Bearer "quoted"',
  'Bearer a;b',
  'Bearer %00',
  'Bearer a\\b',
  'Bearer a,b',
  'Bearer caf\u00e9',
  'Bearer \u00ff\u00fe',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'null',
  'undefined',
  '[object Object]',
  '{"id":1}',
  '*',
  '../../etc/passwd',
  '%2e%2e%2f',
  '$(id)',
  '<script>alert(1)</script>',
  "' OR '1'='1",
  'pk_',
  'sk_',
  'PK_abcdef',
  'xk_abcdef',
  `pk_${'A'.repeat(300)}`,
  'a'.repeat(4096),
  `${CONFORMANCE_KEYS.production}\u00a0`,
  `${CONFORMANCE_KEYS.production}=`,
  `${CONFORMANCE_KEYS.production}, ${CONFORMANCE_KEYS.production}`,
  withChecksum('pk_guessed_key_0001'),
];

describe.each(HOSTS)('hostile headers on %s', (hostName) => {
  let host: Host;
  beforeAll(async () => {
    host = await startHost(hostName, 'cubeconnect');
  });
  afterAll(() => host.close());
  beforeEach(() => {
    host.handlers.length = 0;
  });

  it.each(HOSTILE_VALUES.map((value) => [JSON.stringify(value).slice(0, 60), value]))(
    'grants nothing for %s in any key header',
    async (_, value) => {
      for (const headers of [{ Authorization: value }, { Authorization: `Bearer ${value}` }, { 'X-API-KEY': value }]) {
        const response = await request(host.server).get('/protected').set(headers);
        expect({
          status: response.status,
          challenge: response.headers['www-authenticate']?.startsWith('Bearer'),
        }).toEqual({ status: 401, challenge: true });
        expect(['AUTHENTICATION_REQUIRED', 'INVALID_API_KEY']).toContain(response.body.error.code);
      }
      expect(host.handlers).toEqual([]);
    },
  );

  it.each(HOSTILE_VALUES.map((value) => [JSON.stringify(value).slice(0, 60), value]))(
    'never falls back to a tenant for %s in X-TENANT-ID',
    async (_, value) => {
      const response = await request(host.server)
        .get('/protected')
        .set({ Authorization: `Bearer ${CONFORMANCE_KEYS.multiTenant}`, 'X-TENANT-ID': value });
      expect({ status: response.status, code: response.body.error?.code }).toEqual({
        status: 403,
        code: 'TENANT_NOT_FOUND',
      });
      expect(host.handlers).toEqual([]);
    },
  );

  it.each(HOSTILE_VALUES.map((value) => [JSON.stringify(value).slice(0, 60), value]))(
    'refuses %s as a webhook secret',
    async (_, value) => {
      for (const headers of [{ Authorization: value }, { Authorization: `Bearer ${value}` }]) {
        const response = await request(host.server).post('/webhook').set(headers).send({ event: 'x' });
        expect(response.status).toBe(401);
        expect(['WEBHOOK_SECRET_REQUIRED', 'INVALID_WEBHOOK_SECRET']).toContain(response.body.error.code);
      }
      expect(host.handlers).toEqual([]);
    },
  );

  it('refuses a webhook secret sent in the query string or the body instead of the header', async () => {
    const secret = WEBHOOK_SECRETS.connexease;
    const inQuery = await request(host.server)
      .post(`/webhook?secret=${secret}&authorization=Bearer%20${secret}`)
      .send({ event: 'x' });
    const inBody = await request(host.server)
      .post('/webhook')
      .send({ secret, authorization: `Bearer ${secret}` });
    for (const response of [inQuery, inBody]) {
      expect({ status: response.status, code: response.body.error.code }).toEqual({
        status: 401,
        code: 'WEBHOOK_SECRET_REQUIRED',
      });
      expect(response.text).not.toContain(secret);
    }
    expect(host.handlers).toEqual([]);
  });

  it('refuses a signed body re-encoded from UTF-8 to latin-1, and an emptied body', async () => {
    const body = JSON.stringify({ text: 'Günaydın, şirket' });
    const headers = { 'Content-Type': 'application/json', ...signedHeaders(SIGNING_SECRETS.current, body) };
    // Send these exact bytes (supertest would otherwise serialise a Buffer as JSON).
    const post = (bytes: Buffer) =>
      request(host.server)
        .post('/webhook/signed')
        .set(headers)
        .serialize((value: unknown) => value as string)
        .send(bytes as unknown as string);
    const latin1 = await post(Buffer.from(body, 'latin1'));
    expect({ status: latin1.status, code: latin1.body.error?.code }).toEqual({
      status: 401,
      code: 'INVALID_WEBHOOK_SIGNATURE',
    });
    // An empty JSON body: refused by us (401), or by Fastify's JSON parser before any guard (400).
    const emptied = await post(Buffer.alloc(0));
    expect(emptied.status === 401 || (hostName === 'nest-fastify' && emptied.status === 400)).toBe(true);
    expect(host.handlers).toEqual([]);
    const original = await post(Buffer.from(body, 'utf8'));
    expect(original.status).toBe(200);
    expect(host.handlers).toEqual(['webhook/signed']);
  });

  it('refuses a replayed delivery once its timestamp is outside the window', async () => {
    const body = JSON.stringify({ event: 'message.sent' });
    const captured = signedHeaders(SIGNING_SECRETS.current, body, { at: new Date(Date.now() - 6 * 60 * 1000) });
    const replay = await request(host.server)
      .post('/webhook/signed')
      .set({ 'Content-Type': 'application/json', ...captured })
      .send(body);
    expect({ status: replay.status, code: replay.body.error.code }).toEqual({
      status: 401,
      code: 'INVALID_WEBHOOK_TIMESTAMP',
    });
    expect(host.handlers).toEqual([]);
  });
});

/** What a broken lookup might do, by what the test calls it; `FAILURES` fail rather than answer. */
const ANOMALIES: Record<string, () => unknown> = {
  'returns undefined': () => undefined,
  'returns {}': () => ({}),
  'returns a record without id': () => ({ tenants: [{ id: 1 }], scopes: ['admin'] }),
  'returns a string': () => 'key-1',
  'returns an array': () => [{ id: 1, tenants: [{ id: 1 }] }],
  'returns tenants without ids': () => ({ id: 'k', tenants: [{ name: 'no id' }] }),
  'returns tenants as an object': () => ({ id: 'k', tenants: { id: 1 } }),
  'returns a revoked record': () => ({ id: 'k', tenants: [{ id: 1 }], revoked: true }),
  'returns an expired record': () => ({ id: 'k', tenants: [{ id: 1 }], expiresAt: '2000-01-01T00:00:00Z' }),
  'returns an unreadable expiry': () => ({ id: 'k', tenants: [{ id: 1 }], expiresAt: 'soon' }),
  'rejects with a string': () => Promise.reject('down'),
  'rejects with null': () => Promise.reject(null),
  'throws synchronously': () => {
    throw new TypeError('driver bug');
  },
};
const FAILURES = new Set(['rejects with a string', 'rejects with null', 'throws synchronously']);
/** The key whose lookup does `what`: `pk_returns_an_array` for `'returns an array'`. */
const anomalousKey = (what: string) => withChecksum(`pk_${what.replace(/[^a-z]+/g, '_')}`);

/** A store that answers whatever a broken lookup might. */
class AnomalousStore implements ApiKeyLookup {
  static readonly answers = new Map(Object.entries(ANOMALIES).map(([what, answer]) => [anomalousKey(what), answer]));
  readonly calls: string[] = [];
  findKey(key: string): Promise<ApiKeyRecord | null> {
    this.calls.push(key);
    return AnomalousStore.answers.get(key)!() as Promise<ApiKeyRecord | null>;
  }
}

const ProbeController = routesController(
  'ProbeController',
  '',
  [
    { method: 'GET', path: 'probe', answer: 'id' },
    { path: 'hook', decorators: [WebhookSecret()], answer: { ok: true } },
  ],
  [ApiKeyAuth()],
);

describe.each(ADAPTERS)('a misbehaving key store on %s', (adapter: AdapterName) => {
  let test: TestApp;
  let store: AnomalousStore;
  beforeAll(async () => {
    store = new AnomalousStore();
    test = await createTestApp(adapter, {
      imports: [ApiKeyModule.forRoot({ lookup: store, webhookSecrets: webhookSecretsOption() })],
      controllers: [ProbeController],
    });
  });
  afterAll(() => test.close());
  beforeEach(() => {
    test.handlers.calls.length = 0;
    test.logger.lines.length = 0;
  });

  it.each(Object.keys(ANOMALIES))('never grants when the store %s', async (what) => {
    const [status, code] = FAILURES.has(what) ? [503, 'KEY_STORE_UNAVAILABLE'] : [401, 'INVALID_API_KEY'];
    const key = anomalousKey(what);
    const response = await request(test.app.getHttpServer()).get('/probe').set('Authorization', `Bearer ${key}`);
    expect({ status: response.status, code: response.body.error?.code }).toEqual({ status, code });
    expect(test.handlers.calls).toEqual([]);
    expect(`${response.text} ${test.logger.lines.join('\n')}`).not.toContain(key);
    if (status === 503) expect(test.logger.lines.join('\n')).toContain('API key lookup failed; answered 503');
  });
});

describe.each(ADAPTERS)('webhook secrets that cannot work on %s', (adapter: AdapterName) => {
  it.each([
    ['a trailing space', `${WEBHOOK_SECRETS.connexease} `],
    ['a leading space', ` ${WEBHOOK_SECRETS.connexease}`],
    ['a trailing newline', `${WEBHOOK_SECRETS.connexease}\n`],
    ['31 characters', WEBHOOK_SECRETS.connexease.slice(0, 31)],
    ['one repeated character', 'a'.repeat(40)],
    ['an empty string', ''],
  ])('refuses a configured secret with %s at start-up', async (_, secret) => {
    await expect(
      createTestApp(adapter, {
        imports: [ApiKeyModule.forRoot({ lookup: new AnomalousStore(), webhookSecrets: { default: secret } })],
        controllers: [ProbeController],
      }),
    ).rejects.toThrow(/^nest-keyring: /);
  });
});
