// The OpenAPI document of real Nest apps, built by nest-keyring/swagger and validated as OpenAPI 3
// by @apidevtools/swagger-parser (test/support/validate-openapi.ts); each operation's requirement,
// parameters and refusals checked against what the guards enforce. Nest 12 only (@nestjs/swagger
// 12), hence a *.spec.ts.
import { afterEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Controller, Get, HttpCode, Module, Param, Post, type INestApplication } from '@nestjs/common';
import { ApiResponse, ApiSecurity, DocumentBuilder, DECORATORS } from '@nestjs/swagger';
import type { OpenAPIObject, OperationObject, ParameterObject, ResponseObject } from '@nestjs/swagger';
import request from 'supertest';
import {
  ApiKeyAuth,
  ApiKeyGuard,
  ApiKeyModule,
  KeyringConfigError,
  Public,
  RequireScopes,
  WebhookSecret,
  type KeyringOptions,
} from '../../lib/index.js';
import { type ErrorFormat } from '../../lib/express.js';
import { createKeyringDocument, type KeyringDocumentOptions } from '../../lib/swagger.js';
import { InMemoryLookup, KEYS } from '../fixtures/in-memory-lookup.js';
import { ADAPTERS, createTestApp, type AdapterName, type TestApp } from '../fixtures/test-app.js';
import { webhookSecretsOption } from '../fixtures/webhook-secrets.js';
import { validateOpenApi } from '../support/validate-openapi.js';
import { runNode } from '../support/child-env.js';

@Public()
@Controller('health')
class HealthController {
  @Get()
  health() {
    return { status: 'ok' };
  }
}

/** Declares nothing: protected only where the guard runs app-wide. */
@Controller('open')
class OpenController {
  @Get()
  open() {
    return { ok: true };
  }
}

@ApiKeyAuth()
@Controller('messages')
class MessagesController {
  @Get()
  list() {
    return [];
  }

  @RequireScopes('messages:send')
  @Post('send')
  @HttpCode(200)
  send() {
    return { queued: true };
  }

  @Public()
  @Get('status')
  status() {
    return { up: true };
  }

  @ApiSecurity('session')
  @ApiResponse({ status: 401, description: 'Session or key missing (documented by the app).' })
  @Get('export')
  export() {
    return [];
  }

  @Get(':id')
  one(@Param('id') id: string) {
    return { id };
  }
}

@Public()
@Controller('catalog')
class CatalogController {
  @Get()
  browse() {
    return [];
  }

  @ApiKeyAuth()
  @Get('mine')
  mine() {
    return [];
  }

  @RequireScopes('catalog:write', 'catalog:publish')
  @Post('items')
  add() {
    return {};
  }
}

@Public()
@Controller('webhooks')
class WebhooksController {
  @WebhookSecret()
  @Post('gateway')
  gateway() {}

  @WebhookSecret('billing')
  @Post('billing')
  billing() {}

  @WebhookSecret('events')
  @Post('events')
  events() {}
}

const CONTROLLERS = [HealthController, OpenController, MessagesController, CatalogController, WebhooksController];

interface Setup {
  adapter?: AdapterName;
  options?: Partial<KeyringOptions>;
  protectAllRoutes?: boolean;
  builder?: DocumentBuilder;
  document?: KeyringDocumentOptions;
  beforeInit?: (app: INestApplication) => void;
}

let test: TestApp | undefined;
afterEach(async () => {
  await test?.close();
  test = undefined;
});

async function appWith({
  adapter = 'express',
  options = {},
  protectAllRoutes = false,
  beforeInit,
}: Setup = {}): Promise<TestApp> {
  test = await createTestApp(
    adapter,
    {
      imports: [
        ApiKeyModule.forRoot({
          lookup: new InMemoryLookup(),
          webhookSecrets: webhookSecretsOption(),
          ...options,
          protectAllRoutes,
        }),
      ],
      controllers: CONTROLLERS,
    },
    { rawBody: true, globalPrefix: 'api', beforeInit },
  );
  return test;
}

const defaultBuilder = () =>
  new DocumentBuilder()
    .setTitle('Test API')
    .setVersion('1.0')
    .addApiKey({ type: 'apiKey', in: 'cookie', name: 'sid' }, 'session');

/** The document of an app, after checking that it is valid OpenAPI 3. */
async function documentOf(setup: Setup = {}): Promise<OpenAPIObject> {
  const { app } = await appWith(setup);
  const document = createKeyringDocument(app, setup.builder ?? defaultBuilder(), setup.document);
  await validateOpenApi(document);
  return document;
}

function operation(document: OpenAPIObject, method: 'get' | 'post', path: string): OperationObject {
  const found = document.paths[path]?.[method];
  if (found === undefined)
    throw new Error(`no operation ${method} ${path} in ${Object.keys(document.paths).join(' ')}`);
  return found;
}

const KEY = [{ bearer: [] }, { apiKey: [] }];

/** The codes each refusal status of an operation documents, from its examples. */
function refusalCodes(op: OperationObject): Record<string, string[]> {
  const codes: Record<string, string[]> = {};
  for (const [status, response] of Object.entries(op.responses)) {
    const examples = (response as ResponseObject).content?.['application/json']?.examples;
    if (Number(status) >= 400 && examples !== undefined) codes[status] = Object.keys(examples).sort();
  }
  return codes;
}

const headerNames = (op: OperationObject) =>
  (op.parameters ?? []).filter((p): p is ParameterObject => 'in' in p && p.in === 'header').map((p) => p.name);

describe('createKeyringDocument', () => {
  describe('with the guard app-wide (protectAllRoutes), tenancy on, the cubeconnect preset', () => {
    let document: OpenAPIObject;
    it('builds a valid OpenAPI 3 document with both key schemes and the webhook secrets', async () => {
      document = await documentOf({ protectAllRoutes: true });
      expect(document.components?.securitySchemes).toEqual({
        bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
        apiKey: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-KEY' }),
        webhookSecret: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
        'webhookSecret-billing': expect.objectContaining({ type: 'http', scheme: 'bearer' }),
        session: { type: 'apiKey', in: 'cookie', name: 'sid' },
      });
    });

    it('requires a key, or nothing, on each operation as the guard does', () => {
      const security = (method: 'get' | 'post', path: string) => operation(document, method, path).security;
      expect(security('get', '/api/health')).toBeUndefined();
      expect(security('get', '/api/open')).toEqual(KEY);
      expect(security('get', '/api/messages')).toEqual(KEY);
      expect(security('get', '/api/messages/{id}')).toEqual(KEY);
      expect(security('get', '/api/messages/status')).toBeUndefined();
      expect(security('get', '/api/catalog')).toBeUndefined();
      expect(security('get', '/api/catalog/mine')).toEqual(KEY);
      expect(security('post', '/api/catalog/items')).toEqual(KEY);
      // The app's own requirement stays, and must be met as well.
      expect(security('get', '/api/messages/export')).toEqual([
        { session: [], bearer: [] },
        { session: [], apiKey: [] },
      ]);
    });

    it('documents the refusals of a key route with the preset codes, and the tenant header', () => {
      const open = operation(document, 'get', '/api/open');
      expect(refusalCodes(open)).toEqual({
        401: ['AUTHENTICATION_REQUIRED', 'INVALID_API_KEY'],
        403: ['API_KEY_NO_TENANT', 'TENANT_NOT_FOUND'],
        429: ['RATE_LIMITED'],
        503: ['KEY_STORE_UNAVAILABLE'],
      });
      expect(headerNames(open)).toEqual(['X-TENANT-ID']);
      const unauthorized = open.responses['401'] as ResponseObject;
      expect(unauthorized.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/KeyringError' });
      expect(unauthorized.content?.['application/json']?.examples?.AUTHENTICATION_REQUIRED).toEqual({
        summary: 'AUTHENTICATION_REQUIRED: API key is required.',
        value: { success: false, error: { code: 'AUTHENTICATION_REQUIRED', message: 'API key is required.' } },
      });
      expect(Object.keys(unauthorized.headers ?? {})).toEqual(['WWW-Authenticate']);
      expect(Object.keys((open.responses['503'] as ResponseObject).headers ?? {})).toEqual(['Retry-After']);
    });

    it('shows the scopes of @RequireScopes() and their 403', () => {
      const send = operation(document, 'post', '/api/messages/send');
      expect(send.description).toBe('Requires an API key with the scope `messages:send`.');
      expect(refusalCodes(send)[403]).toEqual(['API_KEY_NO_TENANT', 'INSUFFICIENT_SCOPE', 'TENANT_NOT_FOUND']);
      expect(operation(document, 'post', '/api/catalog/items').description).toBe(
        'Requires an API key with the scopes `catalog:write`, `catalog:publish`.',
      );
      expect(refusalCodes(operation(document, 'get', '/api/open'))[403]).not.toContain('INSUFFICIENT_SCOPE');
    });

    it('documents no refusal and no tenant header where no key is needed', () => {
      for (const path of ['/api/health', '/api/messages/status', '/api/catalog']) {
        expect(refusalCodes(operation(document, 'get', path))).toEqual({});
        expect(headerNames(operation(document, 'get', path))).toEqual([]);
      }
    });

    it('keeps a response the app documented itself', () => {
      const exported = operation(document, 'get', '/api/messages/export');
      expect((exported.responses['401'] as ResponseObject).description).toBe(
        'Session or key missing (documented by the app).',
      );
      expect(refusalCodes(exported)[403]).toEqual(['API_KEY_NO_TENANT', 'TENANT_NOT_FOUND']);
    });

    it('gives webhook routes their secret, or the signature headers, and their own refusals', () => {
      const gateway = operation(document, 'post', '/api/webhooks/gateway');
      expect(gateway.security).toEqual([{ webhookSecret: [] }]);
      expect(headerNames(gateway)).toEqual([]);
      expect(refusalCodes(gateway)).toEqual({ 401: ['INVALID_WEBHOOK_SECRET', 'WEBHOOK_SECRET_REQUIRED'] });
      expect(operation(document, 'post', '/api/webhooks/billing').security).toEqual([{ 'webhookSecret-billing': [] }]);
      const events = operation(document, 'post', '/api/webhooks/events');
      expect(events.security).toBeUndefined();
      expect(headerNames(events)).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
      expect(refusalCodes(events)).toEqual({
        401: ['INVALID_WEBHOOK_SIGNATURE', 'INVALID_WEBHOOK_TIMESTAMP', 'WEBHOOK_SIGNATURE_REQUIRED'],
      });
    });

    it('describes the error body with the codes the document shows', () => {
      expect(document.components?.schemas?.KeyringError).toEqual({
        type: 'object',
        description: 'Why the request was refused.',
        required: ['success', 'error'],
        properties: {
          success: { type: 'boolean', enum: [false] },
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: {
              code: {
                type: 'string',
                enum: [
                  'API_KEY_NO_TENANT',
                  'AUTHENTICATION_REQUIRED',
                  'INSUFFICIENT_SCOPE',
                  'INVALID_API_KEY',
                  'INVALID_WEBHOOK_SECRET',
                  'INVALID_WEBHOOK_SIGNATURE',
                  'INVALID_WEBHOOK_TIMESTAMP',
                  'KEY_STORE_UNAVAILABLE',
                  'RATE_LIMITED',
                  'TENANT_NOT_FOUND',
                  'WEBHOOK_SECRET_REQUIRED',
                  'WEBHOOK_SIGNATURE_REQUIRED',
                ],
              },
              message: { type: 'string' },
            },
          },
        },
      });
    });
  });

  it('leaves a route that declares nothing open when the guard is not app-wide', async () => {
    const document = await documentOf({ protectAllRoutes: false });
    const open = operation(document, 'get', '/api/open');
    expect(open.security).toBeUndefined();
    expect(refusalCodes(open)).toEqual({});
    expect(headerNames(open)).toEqual([]);
    expect(operation(document, 'get', '/api/messages').security).toEqual(KEY);
    expect(operation(document, 'get', '/api/catalog/mine').security).toEqual(KEY);
    expect(operation(document, 'get', '/api/health').security).toBeUndefined();
  });

  it('sees a guard registered with app.useGlobalGuards(), and can be told', async () => {
    const byApp = await documentOf({ beforeInit: (app) => app.useGlobalGuards(app.get(ApiKeyGuard)) });
    expect(operation(byApp, 'get', '/api/open').security).toEqual(KEY);
    await test?.close();
    test = undefined;
    const told = await documentOf({ document: { protectAllRoutes: true } });
    expect(operation(told, 'get', '/api/open').security).toEqual(KEY);
  });

  it.each(ADAPTERS)('documents what the guard answers, on %s', async (adapter) => {
    const { app } = await appWith({ adapter, protectAllRoutes: true });
    const document = createKeyringDocument(app, defaultBuilder());
    const server = app.getHttpServer();
    const refused = await request(server).get('/api/open');
    expect({ status: refused.status, code: refused.body.error.code }).toEqual({
      status: 401,
      code: 'AUTHENTICATION_REQUIRED',
    });
    expect(refusalCodes(operation(document, 'get', '/api/open'))[401]).toContain(refused.body.error.code);
    expect((await request(server).get('/api/health')).status).toBe(200);
    expect((await request(server).get('/api/open').set('X-API-KEY', KEYS.production)).status).toBe(200);
  });

  // Every operation, asked without any credential: it answers 401 exactly where the document
  // says it can, with a code the document lists, and nothing else is refused.
  it.each(ADAPTERS.flatMap((adapter) => [true, false].map((global) => [adapter, global] as const)))(
    'documents a 401 exactly where one is answered without credentials (%s, app-wide guard: %s)',
    async (adapter, protectAllRoutes) => {
      const { app } = await appWith({ adapter, protectAllRoutes });
      const document = createKeyringDocument(app, defaultBuilder());
      const server = app.getHttpServer();
      const answers: string[] = [];
      const claims: string[] = [];
      for (const [path, item] of Object.entries(document.paths)) {
        for (const method of ['get', 'post'] as const) {
          const op = item[method];
          if (op === undefined) continue;
          const url = path.replace(/\{[^}]+\}/g, 'x');
          const answer = await request(server)[method](url).send({});
          const code = answer.status === 401 ? (answer.body.error?.code as string) : '';
          answers.push(`${method} ${path} ${answer.status === 401 ? `401 ${code}` : 'not refused'}`);
          // A 401 the app documents itself (no examples) claims the status only.
          const codes = refusalCodes(op)[401];
          const claim =
            op.responses['401'] === undefined
              ? 'not refused'
              : codes === undefined || codes.includes(code)
                ? `401 ${code}`
                : `401 one of ${codes.join(' ')}`;
          claims.push(`${method} ${path} ${claim}`);
        }
      }
      expect(answers).toEqual(claims);
      expect(answers.filter((line) => line.includes(' 401 ')).length).toBe(protectAllRoutes ? 10 : 9);
    },
  );

  it('follows tenancy off and the connexease preset', async () => {
    const document = await documentOf({
      protectAllRoutes: true,
      options: { tenancy: false, errorFormat: 'connexease' },
    });
    const open = operation(document, 'get', '/api/open');
    expect(refusalCodes(open)).toEqual({
      401: ['AUTH_001', 'AUTH_002', 'AUTH_003'],
      429: ['RATE_LIMITED'],
      503: ['KEY_STORE_UNAVAILABLE'],
    });
    expect(headerNames(open)).toEqual([]);
    expect(refusalCodes(operation(document, 'post', '/api/messages/send'))[403]).toEqual(['INSUFFICIENT_SCOPE']);
  });

  it('documents no 429 where rate limits are off', async () => {
    const document = await documentOf({ protectAllRoutes: true, options: { tenancy: false, rateLimit: false } });
    expect(Object.keys(refusalCodes(operation(document, 'get', '/api/open')))).toEqual(['401', '503']);
  });

  it('follows the headers option: one scheme per header a key is read from', async () => {
    const bearerOnly = await documentOf({ protectAllRoutes: true, options: { headers: ['Authorization'] } });
    expect(Object.keys(bearerOnly.components?.securitySchemes ?? {}).sort()).toEqual([
      'bearer',
      'session',
      'webhookSecret',
      'webhookSecret-billing',
    ]);
    expect(operation(bearerOnly, 'get', '/api/open').security).toEqual([{ bearer: [] }]);
    await test?.close();
    test = undefined;

    const twoHeaders = await documentOf({
      protectAllRoutes: true,
      options: { headers: ['x-api-key', 'X-Client-Key'] },
    });
    expect(twoHeaders.components?.securitySchemes?.['apiKey-x-client-key']).toEqual(
      expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-CLIENT-KEY' }),
    );
    expect(operation(twoHeaders, 'get', '/api/open').security).toEqual([{ apiKey: [] }, { 'apiKey-x-client-key': [] }]);
    // The documented challenge is the one the app answers: the headers it reads, no Bearer.
    const challenge = (operation(twoHeaders, 'get', '/api/open').responses['401'] as ResponseObject).headers?.[
      'WWW-Authenticate'
    ] as { description: string };
    expect(challenge.description).toContain(
      '`ApiKey realm="api", header="x-api-key", ApiKey realm="api", header="x-client-key"`',
    );
    expect(challenge.description).not.toContain('Bearer');
  });

  it("takes this package's schemes off open routes when the document requires them everywhere", async () => {
    const document = await documentOf({
      protectAllRoutes: true,
      builder: defaultBuilder().addSecurityRequirements('bearer').addSecurityRequirements('session'),
    });
    expect(document.security).toEqual([{ bearer: [] }, { session: [] }]);
    expect(operation(document, 'get', '/api/health').security).toEqual([{ session: [] }]);
    expect(operation(document, 'get', '/api/open').security).toEqual([
      { session: [], bearer: [] },
      { session: [], apiKey: [] },
    ]);
  });

  it('puts the scopes in the requirement too from OpenAPI 3.1 on', async () => {
    const document = await documentOf({ protectAllRoutes: true, builder: defaultBuilder().setOpenAPIVersion('3.1.0') });
    expect(operation(document, 'post', '/api/messages/send').security).toEqual([
      { bearer: ['messages:send'] },
      { apiKey: ['messages:send'] },
    ]);
    expect(operation(document, 'get', '/api/open').security).toEqual(KEY);
  });

  it('describes the bodies of a custom errorFormat by what it answers', async () => {
    const errorFormat: ErrorFormat = ({ reason }) => ({
      status: reason === 'lookup_unavailable' || reason === 'lookup_throttled' ? 503 : 401,
      body: { error: reason, retryable: reason.startsWith('lookup') },
    });
    const document = await documentOf({ protectAllRoutes: true, options: { errorFormat, tenancy: false } });
    expect(document.components?.schemas?.KeyringError).toEqual({
      type: 'object',
      required: ['error', 'retryable'],
      properties: { error: { type: 'string' }, retryable: { type: 'boolean' } },
    });
    // No code field: the examples are named by reason; no 429, which this format never answers
    // (it answers a rate-limited request 401).
    expect(refusalCodes(operation(document, 'get', '/api/open'))).toEqual({
      401: ['expired', 'invalid', 'malformed', 'missing', 'rate_limited', 'revoked', 'wrong_environment'],
      503: ['lookup_throttled', 'lookup_unavailable'],
    });
  });

  it('leaves no mark on the controllers, so a second document comes out the same', async () => {
    const { app } = await appWith({ protectAllRoutes: true });
    const first = createKeyringDocument(app, defaultBuilder());
    expect(JSON.stringify(first)).not.toContain('x-nest-keyring');
    expect(Reflect.getMetadata(DECORATORS.API_EXTENSION, MessagesController.prototype.list)).toBeUndefined();
    expect(createKeyringDocument(app, defaultBuilder().build())).toEqual(first);
  });

  it('is checked by a validator that refuses an invalid document', async () => {
    await expect(validateOpenApi({ openapi: '3.0.0', paths: { '/x': { get: {} } } })).rejects.toThrow(/invalid/i);
  });

  it('says what to do in an app without ApiKeyModule', async () => {
    @Module({ controllers: [HealthController] })
    class BareModule {}
    test = await createTestApp('express', { imports: [BareModule] });
    expect(() => createKeyringDocument(test!.app, defaultBuilder())).toThrow(KeyringConfigError);
    expect(() => createKeyringDocument(test!.app, defaultBuilder())).toThrow(/import ApiKeyModule.forRoot\(\)/);
  });
});

describe('the nest-keyring/swagger entry', () => {
  it('loads with import and with require()', () => {
    const show = 'console.log(typeof k.createKeyringDocument)';
    expect(runNode(['--input-type=module', '-e', `const k = await import('nest-keyring/swagger'); ${show}`])).toBe(
      'function',
    );
    expect(runNode(['-e', `const k = require('nest-keyring/swagger'); ${show}`])).toBe('function');
  });

  it('is never loaded by the main entry: an app without Swagger loads nothing of it', () => {
    const swaggerFiles = 'Object.keys(require.cache).filter((p) => /@nestjs.swagger|dist.cjs.swagger/.test(p))';
    const required = runNode(['-e', `require('nest-keyring'); console.log(${swaggerFiles}.length)`]);
    expect(required).toBe('0');
    // The ES module graph of dist/esm/index.js, file by file.
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const [, specifier] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*['"]([^'"]+)['"]/g)) {
        expect(specifier).not.toMatch(/swagger/);
        if (specifier!.startsWith('.')) visit(join(dirname(file), specifier!));
      }
    };
    visit(join(process.cwd(), 'dist/esm/index.js'));
    expect(seen.size).toBeGreaterThan(20);
  });
});
