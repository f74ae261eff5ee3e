import { describe, expect, it } from '@jest/globals';
import { Controller, Get, Post, UseGuards } from '@nestjs/common';
import request from 'supertest';
import {
  ApiKeyGuard,
  ApiKeyModule,
  CurrentApiKey,
  RequireScopes,
  type ApiKeyModuleOptions,
  type ApiKeyRecord,
} from '../lib/index.js';
import { InMemoryLookup, KEYS, withChecksum } from './fixtures/in-memory-lookup.js';
import { routesController } from './fixtures/routes-controller.js';
import { ADAPTERS, createTestApp, sharedApp, HandlerLog, type AdapterName, type TestApp } from './fixtures/test-app.js';

@Controller()
class MessagesController {
  constructor(private readonly handlers: HandlerLog) {}

  @UseGuards(ApiKeyGuard)
  @Get('me')
  me(@CurrentApiKey() key: ApiKeyRecord, @CurrentApiKey('id') id: string) {
    this.handlers.ran('me');
    return { id, environment: key.environment, scopes: key.scopes };
  }

  @RequireScopes('messages:send')
  @Post('messages/send')
  send() {
    this.handlers.ran('send');
    return { sent: true };
  }

  @RequireScopes('messages:send', 'admin')
  @Post('broadcast')
  broadcast() {
    this.handlers.ran('broadcast');
    return { sent: true };
  }
}

const ReportsController = routesController(
  'ReportsController',
  'reports',
  [
    { method: 'GET', path: '', ran: 'reports', handler: 'list', answer: [] },
    { method: 'GET', path: 'outbox', decorators: [RequireScopes('messages:send')], answer: [] },
  ],
  [RequireScopes('messages:read'), UseGuards(ApiKeyGuard)],
);

interface Harness {
  test: TestApp;
  lookup: InMemoryLookup;
  get(path: string): request.Test;
  post(path: string): request.Test;
}

async function harness(adapter: AdapterName, options: Partial<ApiKeyModuleOptions> = {}): Promise<Harness> {
  const lookup = new InMemoryLookup();
  const test = await createTestApp(adapter, {
    // No cache here, so every request shows in lookup.calls; caching has its own spec.
    imports: [ApiKeyModule.forRoot({ lookup, lookupTimeoutMs: 150, cache: false, ...options })],
    controllers: [MessagesController, ReportsController],
  });
  const server = test.app.getHttpServer();
  return { test, lookup, get: (path) => request(server).get(path), post: (path) => request(server).post(path) };
}

/** Asserts a refusal: status, code, challenge, and that no handler ran. */
function expectRefused(h: Harness, response: request.Response, status: number, code: string, challenge?: string): void {
  expect({ status: response.status, code: response.body?.error?.code }).toEqual({ status, code });
  expect(response.body.success).toBe(false);
  expect(response.headers['www-authenticate']).toBe(challenge);
  expect(h.test.handlers.calls).toEqual([]);
}

/** A well-formed key that admits nothing: 401 INVALID_API_KEY (invalid_token), no handler run. */
function expectInvalidKey(h: Harness, response: request.Response): void {
  expectRefused(h, response, 401, 'INVALID_API_KEY', 'Bearer realm="api", error="invalid_token"');
}

/** No key where one is read: 401 AUTHENTICATION_REQUIRED, no handler run. */
function expectKeyRequired(h: Harness, response: request.Response): void {
  expectRefused(h, response, 401, 'AUTHENTICATION_REQUIRED', 'Bearer realm="api"');
}

/** A key without every scope the route requires: 403 INSUFFICIENT_SCOPE naming them, no handler run. */
function expectMissingScope(h: Harness, response: request.Response, scopes: string): void {
  expectRefused(
    h,
    response,
    403,
    'INSUFFICIENT_SCOPE',
    `Bearer realm="api", error="insufficient_scope", scope="${scopes}"`,
  );
}

const ALL_KEYS = Object.values(KEYS);

/** Nothing a client sent as a key may show up in a body or a log line. */
function expectNoKeyLeaked(h: Harness, response: request.Response): void {
  const seen = `${response.text} ${JSON.stringify(response.headers)} ${h.test.logger.lines.join('\n')}`;
  for (const key of ALL_KEYS) expect(seen).not.toContain(key);
}

describe.each(ADAPTERS)('ApiKeyGuard on %s', (adapter) => {
  describe('with the cubeconnect format (default)', () => {
    const h = sharedApp(() => harness(adapter));

    it.each([
      ['Authorization: Bearer', 'Authorization', `Bearer ${KEYS.production}`],
      ['authorization (lower-case name)', 'authorization', `Bearer ${KEYS.production}`],
      ['Authorization: bearer (lower-case scheme)', 'Authorization', `bearer ${KEYS.production}`],
      ['X-API-KEY', 'X-API-KEY', KEYS.production],
      ['x-api-key (lower-case name)', 'x-api-key', KEYS.production],
      ['X-Api-Key (mixed-case name)', 'X-Api-Key', KEYS.production],
    ])('grants a known key in %s', async (_, header, value) => {
      const response = await h.get('/me').set(header, value);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        id: 'key-prod',
        environment: 'production',
        scopes: ['messages:send', 'messages:read'],
      });
      expect(h.test.handlers.calls).toEqual(['me']);
      expect(h.lookup.calls).toEqual([KEYS.production]);
    });

    it('grants a staging key and reports its environment', async () => {
      const response = await h.get('/me').set('X-API-KEY', KEYS.staging);
      expect(response.status).toBe(200);
      expect(response.body.environment).toBe('staging');
      expect(h.test.handlers.calls).toEqual(['me']);
    });

    it('answers 401 AUTHENTICATION_REQUIRED without a key, without a lookup', async () => {
      const response = await h.get('/me');
      expectKeyRequired(h, response);
      expect(response.body.error.message).toBe('API key is required.');
      expect(h.lookup.calls).toEqual([]);
    });

    it.each([
      ['an unknown key', KEYS.unknown],
      ['an expired key', KEYS.expired],
      ['a revoked key', KEYS.revoked],
      ['a key whose record names another environment', KEYS.otherEnvironment],
    ])('answers 401 INVALID_API_KEY for %s', async (_, key) => {
      const response = await h.get('/me').set('Authorization', `Bearer ${key}`);
      expectInvalidKey(h, response);
      expect(response.body.error.message).toBe('Invalid API key.');
      expect(h.lookup.calls).toEqual([key]);
      expectNoKeyLeaked(h, response);
    });

    it.each([
      [
        'a real key with its last character changed',
        `${KEYS.production.slice(0, -1)}${KEYS.production.endsWith('e') ? 'f' : 'e'}`,
      ],
      [
        'a real key with its first character after the prefix changed',
        `pk_${KEYS.production[3] === 'x' ? 'y' : 'x'}${KEYS.production.slice(4)}`,
      ],
      ['a real key plus one character', `${KEYS.production}0`],
      ["a real key's prefix", KEYS.production.slice(0, 8)],
      ['a real key without its checksum', KEYS.production.slice(0, -6)],
      ['an unknown prefix', withChecksum('xk_abcdef')],
      ['an unknown prefix, unchecked', 'xk_abcdef'],
      ['an upper-case prefix', withChecksum('PK_abcdef')],
      ['a dash instead of an underscore', withChecksum('sk-abcdef')],
      ['a bare prefix', 'sk_'],
      ['__proto__', '__proto__'],
      ['constructor', 'constructor'],
    ])('answers 401 INVALID_API_KEY for %s, without a lookup', async (_, key) => {
      const response = await h.get('/me').set('X-API-KEY', key);
      expectNoKeyLeaked(h, response);
      expectInvalidKey(h, response);
      expect(h.lookup.calls).toEqual([]);
    });

    it.each<[string, Record<string, string | string[]>]>([
      ['Bearer with no token', { Authorization: 'Bearer' }],
      ['two spaces after Bearer', { Authorization: `Bearer  ${KEYS.production}` }],
      ['two tokens after Bearer', { Authorization: `Bearer ${KEYS.production} ${KEYS.production}` }],
      ['Basic credentials only', { Authorization: 'Basic dXNlcjpwYXNz' }],
      ['the key without a scheme', { Authorization: KEYS.production }],
      ['an unknown six-letter scheme', { Authorization: `Secret ${KEYS.production}` }],
      ['a token with a quote', { Authorization: 'Bearer pk_a"b' }],
      ['a token with latin-1 bytes', { Authorization: 'Bearer pk_caf\u00e9' }],
      ['an empty X-API-KEY', { 'X-API-KEY': '' }],
      ['a repeated X-API-KEY', { 'X-API-KEY': [KEYS.production, KEYS.production] }],
      ['an 8 KiB X-API-KEY', { 'X-API-KEY': `pk_${'a'.repeat(8 * 1024)}` }],
      [
        'Authorization and X-API-KEY with different keys',
        { Authorization: `Bearer ${KEYS.production}`, 'X-API-KEY': KEYS.staging },
      ],
    ])('answers 401 INVALID_API_KEY for %s, without a lookup', async (_, headers) => {
      const response = await h.get('/me').set(headers);
      expectRefused(h, response, 401, 'INVALID_API_KEY', 'Bearer realm="api", error="invalid_request"');
      expect(h.lookup.calls).toEqual([]);
      expectNoKeyLeaked(h, response);
    });

    it('accepts Authorization and X-API-KEY when they carry the same key', async () => {
      const response = await h
        .get('/me')
        .set({ Authorization: `Bearer ${KEYS.production}`, 'X-API-KEY': KEYS.production });
      expect(response.status).toBe(200);
      expect(h.test.handlers.calls).toEqual(['me']);
      expect(h.lookup.calls).toEqual([KEYS.production]);
    });

    it('uses X-API-KEY when Authorization carries another scheme', async () => {
      const response = await h.get('/me').set({ Authorization: 'Basic dXNlcjpwYXNz', 'X-API-KEY': KEYS.staging });
      expect(response.status).toBe(200);
      expect(response.body.id).toBe('key-stage');
      expect(h.test.handlers.calls).toEqual(['me']);
    });

    it('never lets a 16 KiB header reach a handler', async () => {
      const response = await h.get('/me').set('X-API-KEY', `pk_${'a'.repeat(16 * 1024)}`);
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(h.test.handlers.calls).toEqual([]);
      expect(h.lookup.calls).toEqual([]);
    });

    it('answers 503 KEY_STORE_UNAVAILABLE when the lookup throws, and logs it without the key', async () => {
      const response = await h.get('/me').set('Authorization', `Bearer ${KEYS.storeThrows}`);
      expectRefused(h, response, 503, 'KEY_STORE_UNAVAILABLE');
      expect(h.lookup.calls).toEqual([KEYS.storeThrows]);
      expect(h.test.logger.lines.join('\n')).toMatch(
        /API key lookup failed; answered 503.*connection reset while reading \[redacted\]/s,
      );
      expectNoKeyLeaked(h, response);
    });

    it('answers 503 KEY_STORE_UNAVAILABLE when the lookup hangs past lookupTimeoutMs', async () => {
      const response = await h.get('/me').set('X-API-KEY', KEYS.storeHangs);
      expectRefused(h, response, 503, 'KEY_STORE_UNAVAILABLE');
      expect(h.test.logger.lines.join('\n')).toContain('did not answer within 150 ms');
      expectNoKeyLeaked(h, response);
    });

    it('still grants good keys after a lookup fault', async () => {
      await h.get('/me').set('X-API-KEY', KEYS.storeThrows);
      const response = await h.get('/me').set('X-API-KEY', KEYS.production);
      expect(response.status).toBe(200);
      expect(h.test.handlers.calls).toEqual(['me']);
    });

    describe('scopes', () => {
      it('runs a route when the key holds its scope', async () => {
        const response = await h.post('/messages/send').set('X-API-KEY', KEYS.production);
        expect(response.status).toBe(201);
        expect(h.test.handlers.calls).toEqual(['send']);
      });

      it('answers 403 INSUFFICIENT_SCOPE when the key lacks it', async () => {
        const response = await h.post('/messages/send').set('X-API-KEY', KEYS.noScopes);
        expectMissingScope(h, response, 'messages:send');
      });

      it('requires every listed scope', async () => {
        const response = await h.post('/broadcast').set('X-API-KEY', KEYS.production);
        expectMissingScope(h, response, 'messages:send admin');
      });

      it('authenticates before checking scopes', async () => {
        const response = await h.post('/messages/send');
        expectKeyRequired(h, response);
      });

      it("adds a controller's scopes to its routes'", async () => {
        expect((await h.get('/reports').set('X-API-KEY', KEYS.production)).status).toBe(200);
        expect((await h.get('/reports/outbox').set('X-API-KEY', KEYS.production)).status).toBe(200);
        expect(h.test.handlers.calls).toEqual(['reports', 'outbox']);
        h.test.handlers.calls.length = 0;
        const staging = await h.get('/reports/outbox').set('X-API-KEY', KEYS.staging);
        expectMissingScope(h, staging, 'messages:send messages:read');
      });

      it('looks the key up once when the guard runs twice on a route', async () => {
        // ReportsController has @UseGuards(ApiKeyGuard) and @RequireScopes adds it again.
        await h.get('/reports').set('X-API-KEY', KEYS.production);
        expect(h.lookup.calls).toEqual([KEYS.production]);
      });
    });
  });

  describe('with the connexease format', () => {
    const h = sharedApp(() => harness(adapter, { errorFormat: 'connexease' }));

    it.each<[string, Record<string, string>, number, string, string | undefined]>([
      ['AUTH_002 when Authorization is missing', {}, 401, 'AUTH_002', 'Bearer realm="api"'],
      [
        'AUTH_003 for Basic credentials',
        { Authorization: 'Basic dXNlcjpwYXNz' },
        401,
        'AUTH_003',
        'Bearer realm="api", error="invalid_request"',
      ],
      [
        'AUTH_003 for Bearer without a token',
        { Authorization: 'Bearer' },
        401,
        'AUTH_003',
        'Bearer realm="api", error="invalid_request"',
      ],
      [
        'AUTH_003 for a token with no scheme',
        { Authorization: KEYS.production },
        401,
        'AUTH_003',
        'Bearer realm="api", error="invalid_request"',
      ],
      [
        'AUTH_003 for a token with a space in it',
        { Authorization: 'Bearer pk_a b' },
        401,
        'AUTH_003',
        'Bearer realm="api", error="invalid_request"',
      ],
      [
        'AUTH_001 for an unknown key',
        { Authorization: `Bearer ${KEYS.unknown}` },
        401,
        'AUTH_001',
        'Bearer realm="api", error="invalid_token"',
      ],
      [
        'AUTH_001 for an expired key',
        { Authorization: `Bearer ${KEYS.expired}` },
        401,
        'AUTH_001',
        'Bearer realm="api", error="invalid_token"',
      ],
      [
        'AUTH_001 for a revoked key',
        { Authorization: `Bearer ${KEYS.revoked}` },
        401,
        'AUTH_001',
        'Bearer realm="api", error="invalid_token"',
      ],
      [
        'AUTH_001 for an unknown prefix',
        { Authorization: 'Bearer xk_abcdef' },
        401,
        'AUTH_001',
        'Bearer realm="api", error="invalid_token"',
      ],
      [
        '503 KEY_STORE_UNAVAILABLE when the store fails',
        { Authorization: `Bearer ${KEYS.storeThrows}` },
        503,
        'KEY_STORE_UNAVAILABLE',
        undefined,
      ],
    ])('answers %s', async (_, headers, status, code, challenge) => {
      expectRefused(h, await h.get('/me').set(headers), status, code, challenge);
    });

    it('grants a known key', async () => {
      const response = await h.get('/me').set('Authorization', `Bearer ${KEYS.production}`);
      expect(response.status).toBe(200);
      expect(h.test.handlers.calls).toEqual(['me']);
    });
  });

  describe('environments', () => {
    it('refuses a key of an environment the deployment does not accept, without a lookup', async () => {
      const h = await harness(adapter, { environments: ['production'] });
      try {
        const staging = await h.get('/me').set('X-API-KEY', KEYS.staging);
        expectInvalidKey(h, staging);
        expect(h.lookup.calls).toEqual([]);
        const production = await h.get('/me').set('X-API-KEY', KEYS.production);
        expect(production.status).toBe(200);
        expect(h.test.handlers.calls).toEqual(['me']);
      } finally {
        await h.test.close();
      }
    });

    it('reads environments from custom prefixes', async () => {
      const h = await harness(adapter, { keyPrefixes: { live: 'pk_live_', test: 'sk_test_' }, environments: ['live'] });
      try {
        expectInvalidKey(h, await h.get('/me').set('X-API-KEY', KEYS.staging));
        expectInvalidKey(h, await h.get('/me').set('X-API-KEY', KEYS.noScopes));
        expect(h.lookup.calls).toEqual([]);
        const live = await h.get('/me').set('X-API-KEY', KEYS.production);
        expect(live.status).toBe(200);
        expect(live.body.environment).toBe('live');
      } finally {
        await h.test.close();
      }
    });

    it('passes any well-formed key to the lookup when prefixes are off', async () => {
      const h = await harness(adapter, { keyPrefixes: false });
      try {
        const key = withChecksum('xk_abcdef');
        expectInvalidKey(h, await h.get('/me').set('X-API-KEY', key));
        expect(h.lookup.calls).toEqual([key]);
        const response = await h.get('/me').set('X-API-KEY', KEYS.production);
        expect(response.status).toBe(200);
        expect(response.body.environment).toBeUndefined();
      } finally {
        await h.test.close();
      }
    });
  });

  describe('accepted headers', () => {
    it('reads only Authorization when told to', async () => {
      const h = await harness(adapter, { headers: ['Authorization'] });
      try {
        expectKeyRequired(h, await h.get('/me').set('X-API-KEY', KEYS.production));
        expect((await h.get('/me').set('Authorization', `Bearer ${KEYS.production}`)).status).toBe(200);
      } finally {
        await h.test.close();
      }
    });

    it('reads only X-API-KEY when told to, leaving Authorization to the app', async () => {
      const h = await harness(adapter, { headers: ['x-api-key'] });
      try {
        expectRefused(
          h,
          await h.get('/me').set('Authorization', `Bearer ${KEYS.production}`),
          401,
          'AUTHENTICATION_REQUIRED',
          // The challenge names the header read, not a Bearer scheme the app would ignore.
          'ApiKey realm="api", header="x-api-key"',
        );
        const response = await h
          .get('/me')
          .set({ Authorization: 'Bearer some.user.jwt', 'X-API-KEY': KEYS.production });
        expect(response.status).toBe(200);
        expect(h.test.handlers.calls).toEqual(['me']);
      } finally {
        await h.test.close();
      }
    });
  });

  it('answers with a custom error format', async () => {
    const h = await harness(adapter, {
      errorFormat: (failure) => ({
        status: failure.reason === 'missing' ? 401 : 418,
        body: { problem: failure.reason },
      }),
    });
    try {
      const missing = await h.get('/me');
      expect(missing.status).toBe(401);
      expect(missing.body).toEqual({ problem: 'missing' });
      expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"');
      const unknown = await h.get('/me').set('X-API-KEY', KEYS.unknown);
      expect(unknown.status).toBe(418);
      expect(unknown.body).toEqual({ problem: 'invalid' });
      expect(h.test.handlers.calls).toEqual([]);
    } finally {
      await h.test.close();
    }
  });
});
