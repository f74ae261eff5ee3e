import { afterAll, beforeAll, beforeEach } from '@jest/globals';
import {
  Controller,
  Get,
  Module,
  RequestMethod,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
} from '@nestjs/common';
import express from 'express';
import type { Server } from 'node:http';
import {
  ApiKeyAuth,
  ApiKeyNestMiddleware,
  ApiKeyModule,
  CurrentApiKey,
  CurrentTenant,
  Keyring,
  RequireScopes,
  TenantContext,
  TenantNestMiddleware,
  type ApiKeyRecord,
  type KeyringOptions,
  type Tenant,
  WebhookSecret,
} from '../../lib/index.js';
import {
  apiKeyMiddleware,
  tenantMiddleware,
  type KeyringIncomingMessage,
  webhookSecretMiddleware,
} from '../../lib/express.js';
import { webhookSecretsOption } from '../fixtures/webhook-secrets.js';
import { demoRecords, InMemoryLookup } from '../fixtures/in-memory-lookup.js';
import { createTestApp, HandlerLog, hostOf, type Host } from '../fixtures/test-app.js';
import { routesController, webhookController, type Route } from '../fixtures/routes-controller.js';
import { CONFORMANCE_KEYS, type Preset } from './conformance-cases.js';

/** A running app under test: its HTTP server, the handlers that ran, and how to stop it. */
export type { Host };

export type HostName = 'nest-express' | 'nest-fastify' | 'express-middleware' | 'nest-middleware-consumer';
export const HOSTS: HostName[] = ['nest-express', 'nest-fastify', 'express-middleware', 'nest-middleware-consumer'];

const tenantContext = new TenantContext();

function keyringOptions(preset: Preset, overrides: Partial<KeyringOptions> = {}): KeyringOptions {
  const records = demoRecords();
  records[CONFORMANCE_KEYS.multiTenant] = { id: 'key-multi', tenants: [{ id: 1 }, { id: 'org-b' }] };
  records[CONFORMANCE_KEYS.noTenant] = { id: 'key-none', tenants: [] };
  const hour = 3_600_000;
  records[CONFORMANCE_KEYS.withinLimit] = {
    id: 'key-within-limit',
    tenants: [{ id: 1 }],
    rateLimit: { limit: 100, windowMs: hour },
  };
  records[CONFORMANCE_KEYS.pastLimit] = {
    id: 'key-past-limit',
    tenants: [{ id: 1 }],
    rateLimit: { limit: 2, windowMs: hour },
  };
  return {
    lookup: new InMemoryLookup(records),
    errorFormat: preset,
    lookupTimeoutMs: 150,
    webhookSecrets: webhookSecretsOption(),
    ...overrides,
  };
}

/** What every host's handler answers: what it saw on the request and in the tenant context. */
function describeRequest(record: ApiKeyRecord | undefined, tenant: Tenant | undefined) {
  return { keyId: record?.id, tenantId: tenant?.id, tenantFromContext: tenantContext.find()?.id };
}

@Controller()
class GuardedController {
  constructor(private readonly handlers: HandlerLog) {}

  @ApiKeyAuth()
  @Get('protected')
  protected(@CurrentApiKey() record: ApiKeyRecord, @CurrentTenant() tenant: Tenant) {
    this.handlers.ran('protected');
    return describeRequest(record, tenant);
  }

  @ApiKeyAuth()
  @RequireScopes('messages:send')
  @Get('scoped')
  scoped(@CurrentApiKey() record: ApiKeyRecord, @CurrentTenant() tenant: Tenant) {
    this.handlers.ran('scoped');
    return describeRequest(record, tenant);
  }
}

const WEBHOOK_ROUTES: Route[] = [
  { path: '', ran: 'webhook', handler: 'receive' },
  { path: 'signed', ran: 'webhook/signed', handler: 'receiveSigned', decorators: [WebhookSecret('events')] },
];

const WebhookController = webhookController('WebhookController', 'webhook', WEBHOOK_ROUTES);

/** The same webhook routes with no guard: MiddlewareConsumer applies webhookSecretMiddleware. */
const UnguardedWebhookController = routesController(
  'UnguardedWebhookController',
  'webhook',
  WEBHOOK_ROUTES.map((route) => ({ ...route, decorators: [] })),
);

/** Routes behind middleware applied with MiddlewareConsumer; scopes still come from the guard. */
@Controller()
class MiddlewareController {
  constructor(private readonly handlers: HandlerLog) {}

  @Get('protected')
  protected(@CurrentApiKey() record: ApiKeyRecord, @CurrentTenant() tenant: Tenant) {
    this.handlers.ran('protected');
    return describeRequest(record, tenant);
  }

  @RequireScopes('messages:send')
  @Get('scoped')
  scoped(@CurrentApiKey() record: ApiKeyRecord, @CurrentTenant() tenant: Tenant) {
    this.handlers.ran('scoped');
    return describeRequest(record, tenant);
  }
}

@Module({})
class MiddlewareRoutesModule implements NestModule {
  private static preset: Preset = 'cubeconnect';

  static forPreset(preset: Preset): DynamicModule {
    MiddlewareRoutesModule.preset = preset;
    return { module: MiddlewareRoutesModule, controllers: [MiddlewareController, UnguardedWebhookController] };
  }

  configure(consumer: MiddlewareConsumer) {
    const webhookSecrets = webhookSecretsOption();
    const errorFormat = MiddlewareRoutesModule.preset;
    consumer.apply(ApiKeyNestMiddleware, TenantNestMiddleware).forRoutes(MiddlewareController);
    consumer
      .apply(webhookSecretMiddleware({ webhookSecrets, errorFormat }))
      .forRoutes({ path: 'webhook', method: RequestMethod.POST });
    consumer
      .apply(webhookSecretMiddleware({ webhookSecrets, errorFormat, name: 'events' }))
      .forRoutes({ path: 'webhook/signed', method: RequestMethod.POST });
  }
}

async function nestHost(adapter: 'express' | 'fastify', preset: Preset, overrides?: Partial<KeyringOptions>) {
  const test = await createTestApp(
    adapter,
    {
      imports: [ApiKeyModule.forRoot(keyringOptions(preset, overrides))],
      controllers: [GuardedController, WebhookController],
    },
    { rawBody: true },
  );
  return hostOf(test);
}

async function nestMiddlewareHost(preset: Preset, overrides?: Partial<KeyringOptions>): Promise<Host> {
  const test = await createTestApp(
    'express',
    { imports: [ApiKeyModule.forRoot(keyringOptions(preset, overrides)), MiddlewareRoutesModule.forPreset(preset)] },
    { rawBody: true },
  );
  return hostOf(test);
}

async function expressHost(preset: Preset, overrides?: Partial<KeyringOptions>): Promise<Host> {
  const keyring = new Keyring(keyringOptions(preset, overrides));
  const handlers: string[] = [];
  const logs: string[] = [];
  const logger = {
    error: (message: string) => logs.push(message),
    debug: (message: string) => logs.push(`debug ${message}`),
  };
  const app = express();
  const answer = (name: string) => (request: express.Request, response: express.Response) => {
    handlers.push(name);
    const { apiKey, tenant } = request as KeyringIncomingMessage;
    response.json(describeRequest(apiKey, tenant));
  };
  app.get(
    '/protected',
    apiKeyMiddleware(keyring, { logger }),
    tenantMiddleware(keyring, { logger }),
    answer('protected'),
  );
  app.get(
    '/scoped',
    apiKeyMiddleware(keyring, { scopes: ['messages:send'], logger }),
    tenantMiddleware(keyring, { logger }),
    answer('scoped'),
  );
  const webhookSecrets = webhookSecretsOption();
  const received = (name: string) => (_: express.Request, response: express.Response) => {
    handlers.push(name);
    response.json({ received: true });
  };
  // Before any body parser: a wrong secret is refused before the body is read.
  app.post('/webhook', webhookSecretMiddleware({ webhookSecrets, errorFormat: preset, logger }), received('webhook'));
  app.post(
    '/webhook/signed',
    express.raw({ type: 'application/json' }),
    webhookSecretMiddleware({ webhookSecrets, errorFormat: preset, name: 'events', logger }),
    received('webhook/signed'),
  );
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return { server, handlers, logs, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Starts a host; `overrides` change the keyring's options (say, the key `headers`). */
export function startHost(name: HostName, preset: Preset, overrides?: Partial<KeyringOptions>): Promise<Host> {
  switch (name) {
    case 'nest-express':
      return nestHost('express', preset, overrides);
    case 'nest-fastify':
      return nestHost('fastify', preset, overrides);
    case 'express-middleware':
      return expressHost(preset, overrides);
    case 'nest-middleware-consumer':
      return nestMiddlewareHost(preset, overrides);
  }
}

/**
 * A host for the tests of one `describe`: started before them, stopped after; each test starts
 * with no handler run and no line logged. Read it through the function returned.
 */
export function hostForSuite(name: HostName, preset: Preset, overrides?: Partial<KeyringOptions>): () => Host {
  let host: Host | undefined;
  beforeAll(async () => {
    host = await startHost(name, preset, overrides);
  });
  afterAll(() => host?.close());
  beforeEach(() => {
    host!.handlers.length = 0;
    host!.logs.length = 0;
  });
  return () => host!;
}
