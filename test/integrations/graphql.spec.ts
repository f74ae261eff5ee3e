import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Injectable,
  UseGuards,
  UseInterceptors,
  type CanActivate,
  type ExecutionContext,
  type Type,
} from '@nestjs/common';
import { ApolloDriver, Plugin, type ApolloDriverConfig } from '@nestjs/apollo';
import {
  Args,
  Field,
  GraphQLModule,
  ID,
  Int,
  Mutation,
  ObjectType,
  Parent,
  Query,
  ResolveField,
  Resolver,
} from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import mercurius from 'mercurius';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import {
  ApiKeyAuth,
  ApiKeyModule,
  CurrentApiKey,
  CurrentTenant,
  GraphqlIntrospectionCheck,
  Public,
  RequireScopes,
  TenantContext,
  TenantInterceptor,
  type ApiKeyModuleOptions,
  type ApiKeyRecord,
} from '../../lib/index.js';
import { demoRecords, InMemoryLookup, KEYS, withChecksum } from '../fixtures/in-memory-lookup.js';
import { graphqlServers, type GraphqlServer } from '../fixtures/graphql-servers.js';
import { createTestApp, sharedApp, HandlerLog, type TestApp } from '../fixtures/test-app.js';

const MULTI = withChecksum('pk_gqlmulti_5a6b7c8d');
const FIELDS = withChecksum('pk_gqlfields_1f2e3d4c');
const RECORDS: Record<string, ApiKeyRecord> = {
  ...demoRecords(),
  [MULTI]: { id: 'key-multi', tenants: [{ id: 1 }, { id: 3 }], scopes: ['messages:read'] },
  [FIELDS]: { id: 'key-fields', tenants: [{ id: 4 }], scopes: [] },
};

/** Reads the tenant the way application services do: from the context, not from the request. */
@Injectable()
class TenantEcho {
  constructor(private readonly tenants: TenantContext) {}

  async tenantIdAfter(ms: number): Promise<string> {
    await sleep(ms);
    return String(this.tenants.tenantId);
  }
}

@ObjectType()
class Item {
  @Field(() => Int)
  n!: number;
}

@ObjectType()
class Whoami {
  @Field(() => ID)
  keyId!: string;

  @Field(() => String, { nullable: true })
  environment?: string;

  @Field(() => ID)
  tenant!: string;

  @Field(() => ID)
  tenantFromService!: string;

  @Field(() => [Item])
  items!: Item[];
}

@Resolver(() => Whoami)
class WhoamiResolver {
  constructor(
    private readonly handlers: HandlerLog,
    private readonly echo: TenantEcho,
  ) {}

  @Query(() => Whoami)
  async whoami(
    @CurrentApiKey() key: ApiKeyRecord,
    @CurrentTenant('id') tenantId: number,
    @Args('wait', { type: () => Int, defaultValue: 0 }) wait: number,
  ): Promise<Whoami> {
    this.handlers.ran('whoami');
    const items = Array.from({ length: 50 }, (_, n) => ({ n }));
    const tenantFromService = await this.echo.tenantIdAfter(wait);
    return { keyId: String(key.id), environment: key.environment, tenant: String(tenantId), tenantFromService, items };
  }

  @Query(() => String)
  echoTenant(): Promise<string> {
    this.handlers.ran('echoTenant');
    return this.echo.tenantIdAfter(0);
  }

  @Public()
  @Query(() => String)
  ping(): string {
    this.handlers.ran('ping');
    return 'pong';
  }

  @RequireScopes('messages:send')
  @Mutation(() => String)
  send(@Args('body', { type: () => String }) body: string, @CurrentTenant('id') tenantId: number): string {
    this.handlers.ran('send');
    return `${body} for ${tenantId}`;
  }
}

@Resolver(() => Item)
class ItemResolver {
  // A field resolver on every item: with `fieldResolverEnhancers: ['guards']` the guard runs
  // for each, and must not ask the key store again.
  @ResolveField(() => String)
  label(@Parent() item: Item, @CurrentTenant('id') tenantId: number): string {
    return `${tenantId}-${item.n}`;
  }

  @RequireScopes('admin')
  @ResolveField(() => String, { nullable: true })
  secret(): string {
    return 'classified';
  }
}

type Server = GraphqlServer;

// Apollo answers a refusal with its HTTP status (Nest's Apollo driver answers 200 otherwise).
const SERVERS = graphqlServers({ graphiql: false, preserveHttpStatusForExecutionErrors: false });

interface Harness {
  test: TestApp;
  lookup: InMemoryLookup;
  post(query: string, headers?: Record<string, string | string[]>): request.Test;
}

async function harness(
  server: Server,
  options: Partial<ApiKeyModuleOptions> = {},
  providers: Type<unknown>[] = [],
): Promise<Harness> {
  const lookup = new InMemoryLookup(RECORDS);
  const test = await createTestApp(server.adapter, {
    imports: [
      ApiKeyModule.forRoot({ lookup, lookupTimeoutMs: 200, ...options, protectAllRoutes: true }),
      server.graphql(),
    ],
    providers: [WhoamiResolver, ItemResolver, TenantEcho, ...providers],
  });
  return {
    test,
    lookup,
    post: (query, headers = {}) => request(test.app.getHttpServer()).post('/graphql').set(headers).send({ query }),
  };
}

const WHOAMI = '{ whoami { keyId environment tenant tenantFromService } }';

function expectRefused(h: Harness, response: request.Response, status: number, code: string): void {
  expect({
    status: response.status,
    code: response.body.errors?.[0]?.extensions?.code,
    data: response.body.data ?? null,
    handlers: h.test.handlers.calls,
  }).toEqual({ status, code, data: null, handlers: [] });
  expect(response.text).not.toMatch(/Forbidden resource/);
  expect(response.body.errors[0].extensions).not.toHaveProperty('http');
  // A refusal is an answer, not an error of the app: Nest's exception handler logs nothing.
  expect(h.test.logger.lines.filter((line) => /ExceptionsHandler|Unhandled/i.test(line))).toEqual([]);
}

describe.each(SERVERS)('GraphQL on $name', (server) => {
  const h = sharedApp(() => harness(server));

  it('answers a query with the key in Bearer (200, key and tenant in resolver and service)', async () => {
    const response = await h.post(WHOAMI, { Authorization: `Bearer ${KEYS.production}` });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      data: { whoami: { keyId: 'key-prod', environment: 'production', tenant: '1', tenantFromService: '1' } },
    });
    expect(h.test.handlers.calls).toEqual(['whoami']);
  });

  it('reads X-API-KEY and X-TENANT-ID as on REST', async () => {
    const staging = await h.post(WHOAMI, { 'X-API-KEY': KEYS.staging });
    expect(staging.body.data.whoami).toMatchObject({ keyId: 'key-stage', environment: 'staging', tenant: '2' });
    const second = await h.post(WHOAMI, { 'X-API-KEY': MULTI, 'X-TENANT-ID': '3' });
    expect(second.body.data.whoami).toMatchObject({ keyId: 'key-multi', tenant: '3', tenantFromService: '3' });
  });

  it('refuses a tenant the key is not linked to with TENANT_NOT_FOUND, the resolver never running', async () => {
    expectRefused(h, await h.post(WHOAMI, { 'X-API-KEY': MULTI, 'X-TENANT-ID': '999' }), 403, 'TENANT_NOT_FOUND');
  });

  it('refuses a query without a key with the preset code, its message, a challenge and no data', async () => {
    const response = await h.post(WHOAMI);
    expectRefused(h, response, 401, 'AUTHENTICATION_REQUIRED');
    expect(response.body.errors[0].message).toBe('API key is required.');
    expect(response.body.errors[0].path).toEqual(['whoami']);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="api"');
  });

  it.each<[string, Record<string, string | string[]>, number, string]>([
    ['an unknown key', { 'X-API-KEY': KEYS.unknown }, 401, 'INVALID_API_KEY'],
    ['a forged key (checksum wrong)', { 'X-API-KEY': `${KEYS.production.slice(0, -1)}x` }, 401, 'INVALID_API_KEY'],
    ['a revoked key', { Authorization: `Bearer ${KEYS.revoked}` }, 401, 'INVALID_API_KEY'],
    [
      'two different keys',
      { Authorization: `Bearer ${KEYS.production}`, 'X-API-KEY': KEYS.staging },
      401,
      'INVALID_API_KEY',
    ],
    ['X-API-KEY sent twice', { 'X-API-KEY': [KEYS.production, KEYS.staging] }, 401, 'INVALID_API_KEY'],
    ['X-TENANT-ID sent twice', { 'X-API-KEY': MULTI, 'X-TENANT-ID': ['1', '3'] }, 401, 'INVALID_API_KEY'],
    ['a key store that throws', { 'X-API-KEY': KEYS.storeThrows }, 503, 'KEY_STORE_UNAVAILABLE'],
    ['a key store that hangs', { 'X-API-KEY': KEYS.storeHangs }, 503, 'KEY_STORE_UNAVAILABLE'],
  ])('refuses %s as on REST', async (_, headers, status, code) => {
    const response = await h.post(WHOAMI, headers);
    expectRefused(h, response, status, code);
    expect(JSON.stringify(response.body)).not.toContain(KEYS.storeThrows);
  });

  it('checks @RequireScopes() on a mutation: INSUFFICIENT_SCOPE with the scope in the challenge', async () => {
    const mutation = 'mutation { send(body: "hi") }';
    const refused = await h.post(mutation, { 'X-API-KEY': KEYS.noScopes });
    expectRefused(h, refused, 403, 'INSUFFICIENT_SCOPE');
    expect(refused.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="messages:send"',
    );
    const sent = await h.post(mutation, { 'X-API-KEY': KEYS.staging });
    expect({ status: sent.status, data: sent.body.data }).toEqual({ status: 200, data: { send: 'hi for 2' } });
    expect(h.test.handlers.calls).toEqual(['send']);
  });

  it('lets a @Public() resolver answer without a key', async () => {
    const response = await h.post('{ ping }');
    expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: { data: { ping: 'pong' } } });
  });

  it('suggests field names in validation errors without the server settings (see introspection below)', async () => {
    const response = await h.post('{ whoam { keyId } }');
    expect(response.body.errors[0].message).toBe('Cannot query field "whoam" on type "Query". Did you mean "whoami"?');
  });

  it('answers introspection with a key', async () => {
    const response = await h.post('{ __schema { queryType { name } } }', { 'X-API-KEY': KEYS.production });
    expect({ status: response.status, data: response.body.data }).toEqual({
      status: 200,
      data: { __schema: { queryType: { name: 'Query' } } },
    });
  });

  it('answers introspection without a key too: no resolver, so no guard, runs for it', async () => {
    const response = await h.post('{ __schema { queryType { name } } }');
    expect({ status: response.status, data: response.body.data }).toEqual({
      status: 200,
      data: { __schema: { queryType: { name: 'Query' } } },
    });
  });

  it('gives each of two interleaved operations its own tenant, in the resolver and in its services', async () => {
    const [slow, fast] = await Promise.all([
      h.post('{ whoami(wait: 60) { tenant tenantFromService } }', { 'X-API-KEY': MULTI, 'X-TENANT-ID': '3' }),
      h.post('{ whoami(wait: 0) { tenant tenantFromService } }', { 'X-API-KEY': KEYS.staging }),
    ]);
    expect(slow.body.data.whoami).toEqual({ tenant: '3', tenantFromService: '3' });
    expect(fast.body.data.whoami).toEqual({ tenant: '2', tenantFromService: '2' });
  });

  it('gives one key used for two tenants at once each operation its own tenant', async () => {
    const query = (wait: number) => `{ whoami(wait: ${wait}) { tenant tenantFromService } }`;
    const answers = await Promise.all([
      h.post(query(50), { 'X-API-KEY': MULTI, 'X-TENANT-ID': '1' }),
      h.post(query(0), { 'X-API-KEY': MULTI, 'X-TENANT-ID': '3' }),
      h.post(query(25), { 'X-API-KEY': MULTI }),
    ]);
    expect(answers.map((answer) => answer.body.data.whoami)).toEqual([
      { tenant: '1', tenantFromService: '1' },
      { tenant: '3', tenantFromService: '3' },
      { tenant: '1', tenantFromService: '1' },
    ]);
  });

  it('looks the key up once for an operation with two root fields and a field resolver on 50 items', async () => {
    const response = await h.post('{ echoTenant whoami { items { label } } }', { 'X-API-KEY': FIELDS });
    expect(response.status).toBe(200);
    expect(response.body.data.echoTenant).toBe('4');
    expect(response.body.data.whoami.items).toHaveLength(50);
    expect(response.body.data.whoami.items[49]).toEqual({ label: '4-49' });
    expect(h.lookup.calls).toEqual([FIELDS]);
  });

  it("checks a field resolver's own @RequireScopes() (with fieldResolverEnhancers: ['guards'])", async () => {
    const response = await h.post('{ whoami { keyId items { secret } } }', { 'X-API-KEY': FIELDS });
    // The field is nullable: the rest of the answer stands, each refused field is null with its error.
    expect(response.body.data.whoami.keyId).toBe('key-fields');
    expect(response.body.data.whoami.items[0]).toEqual({ secret: null });
    expect(response.body.errors).toHaveLength(50);
    expect(response.body.errors[0].extensions).toEqual({ code: 'INSUFFICIENT_SCOPE' });
    // Mercurius spells list indexes as strings.
    expect(response.body.errors[0].path.map(String)).toEqual(['whoami', 'items', '0', 'secret']);
  });
});

describe.each(SERVERS)('GraphQL on $name with the connexease format', (server) => {
  const h = sharedApp(() => harness(server, { errorFormat: 'connexease' }));

  it.each<[string, Record<string, string>, string]>([
    ['no key', {}, 'AUTH_002'],
    ['a key in another scheme', { Authorization: `Basic ${KEYS.production}` }, 'AUTH_003'],
    ['an unknown key', { Authorization: `Bearer ${KEYS.unknown}` }, 'AUTH_001'],
  ])('answers %s with its code', async (_, headers, code) => {
    expectRefused(h, await h.post(WHOAMI, headers), 401, code);
  });
});

describe("GraphQL on Apollo with Nest's default preserveHttpStatusForExecutionErrors", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({
      name: 'Apollo on Express',
      adapter: 'express',
      graphql: () =>
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          autoSchemaFile: true,
          fieldResolverEnhancers: ['guards'],
        }),
    });
  });
  afterAll(() => h.test.close());

  it('answers a refusal 200 with the code and the challenge (Nest resets the status of execution errors)', async () => {
    const response = await h.post(WHOAMI);
    expectRefused(h, response, 200, 'AUTHENTICATION_REQUIRED');
    expect(response.headers['www-authenticate']).toBe('Bearer realm="api"');
  });
});

@Plugin()
class IntrospectionNeedsKey extends GraphqlIntrospectionCheck {}

/**
 * The server settings that keep field names out of validation errors ("Did you mean …?"):
 * Apollo's `hideSchemaDetailsFromClientErrors`, and on Mercurius an error formatter that drops
 * the suggestion (graphql-js has no option for it).
 */
const withoutSuggestions: MercuriusDriverConfig['errorFormatter'] = (execution, context) => {
  const formatted = mercurius.defaultErrorFormatter(execution, context);
  const errors = formatted.response.errors?.map((error) => ({
    ...error,
    message: error.message.replace(/ ?Did you mean(.+?)\?$/, ''),
  }));
  return { ...formatted, response: { ...formatted.response, errors } };
};

const GUARDED_INTROSPECTION: Server[] = [
  {
    name: 'Apollo on Express (a @Plugin() subclass)',
    adapter: 'express',
    graphql: () =>
      GraphQLModule.forRoot<ApolloDriverConfig>({
        driver: ApolloDriver,
        autoSchemaFile: true,
        graphiql: false,
        includeStacktraceInErrorResponses: false,
        fieldResolverEnhancers: ['guards'],
        hideSchemaDetailsFromClientErrors: true,
      }),
  },
  {
    name: 'Mercurius on Fastify (the preExecution hook)',
    adapter: 'fastify',
    graphql: () =>
      GraphQLModule.forRootAsync<MercuriusDriverConfig>({
        driver: MercuriusDriver,
        inject: [GraphqlIntrospectionCheck],
        useFactory: (check: GraphqlIntrospectionCheck) => ({
          autoSchemaFile: true,
          fieldResolverEnhancers: ['guards'],
          hooks: { preExecution: [check.preExecution] },
          errorFormatter: withoutSuggestions,
        }),
      }),
  },
];

describe.each(GUARDED_INTROSPECTION)('introspection behind a key, GraphQL on $name', (server) => {
  const h = sharedApp(() => harness(server, {}, [IntrospectionNeedsKey]));

  const SCHEMA = '{ __schema { queryType { name } } }';

  it.each<[string, string, Record<string, string>, number, string]>([
    ['no key', SCHEMA, {}, 401, 'AUTHENTICATION_REQUIRED'],
    ['an unknown key', SCHEMA, { 'X-API-KEY': KEYS.unknown }, 401, 'INVALID_API_KEY'],
    ['a tenant of another key', SCHEMA, { 'X-API-KEY': MULTI, 'X-TENANT-ID': '999' }, 403, 'TENANT_NOT_FOUND'],
    ['no key, __type', '{ __type(name: "Whoami") { name } }', {}, 401, 'AUTHENTICATION_REQUIRED'],
    [
      'no key, in a fragment',
      'query { ...Schema } fragment Schema on Query { __schema { types { name } } }',
      {},
      401,
      'AUTHENTICATION_REQUIRED',
    ],
  ])('refuses introspection with %s, before anything runs', async (_, query, headers, status, code) => {
    const response = await h.post(query, headers);
    expect({
      status: response.status,
      code: response.body.errors?.[0]?.extensions?.code,
      data: response.body.data ?? null,
    }).toEqual({ status, code, data: null });
    expect(response.body.errors[0].extensions).not.toHaveProperty('http');
    if (status === 401) expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="api"/);
  });

  it('answers introspection with a key, looking it up once for the operation', async () => {
    const response = await h.post(`{ __schema { queryType { name } } whoami { keyId } }`, { 'X-API-KEY': FIELDS });
    expect({ status: response.status, data: response.body.data }).toEqual({
      status: 200,
      data: { __schema: { queryType: { name: 'Query' } }, whoami: { keyId: 'key-fields' } },
    });
    expect(h.lookup.calls).toEqual([FIELDS]);
  });

  it('names no field of the schema in a validation error to a client without a key', async () => {
    const response = await h.post('{ whoam { keyId } }');
    expect(response.body.errors.map((error: { message: string }) => error.message)).toEqual([
      'Cannot query field "whoam" on type "Query".',
    ]);
    expect(response.text).not.toMatch(/Did you mean|"whoami"/);
    expect(h.test.handlers.calls).toEqual([]);
  });

  it('leaves other operations to the resolvers and their guards (__typename is no introspection)', async () => {
    const open = await h.post('{ __typename ping }');
    expect({ status: open.status, body: open.body }).toEqual({
      status: 200,
      body: { data: { __typename: 'Query', ping: 'pong' } },
    });
  });
});

describe('the package without GraphQL', () => {
  it('imports nothing of GraphQL (the guard reads the execution context, never @nestjs/graphql)', () => {
    const root = join(import.meta.dirname, '..', '..', 'dist');
    const specifiers = readdirSync(root, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.js'))
      .flatMap((file) => [...readFileSync(join(root, file), 'utf8').matchAll(/(?:from |import\(|require\()'([^']+)'/g)])
      .map((match) => match[1]!);
    expect(specifiers.length).toBeGreaterThan(50);
    expect(
      specifiers.filter((specifier) => !specifier.startsWith('.') && /graphql|apollo|mercurius/.test(specifier)),
    ).toEqual([]);
  });
});

/** Another authentication puts a record on the request; `TenantInterceptor` chooses the tenant. */
@Injectable()
class PartnerGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const gql = context.getArgByIndex<{
      req?: { apiKey?: ApiKeyRecord };
      reply?: { request: { apiKey?: ApiKeyRecord } };
    }>(2);
    const request = gql.req ?? gql.reply!.request;
    request.apiKey = { id: 'partner', tenants: [{ id: 7 }, { id: 8 }] };
    return true;
  }
}

@Resolver()
class PerResolverResolver {
  constructor(private readonly echo: TenantEcho) {}

  @UseGuards(PartnerGuard)
  @UseInterceptors(TenantInterceptor)
  @Query(() => String)
  partnerTenant(): Promise<string> {
    return this.echo.tenantIdAfter(5);
  }

  @ApiKeyAuth()
  @Query(() => String)
  keyed(@CurrentApiKey('id') keyId: string): string {
    return keyId;
  }

  @Query(() => String)
  open(): string {
    return 'open';
  }
}

describe.each(SERVERS)('GraphQL on $name, guard and interceptor per resolver', (server) => {
  let test: TestApp;
  const post = (query: string, headers: Record<string, string> = {}) =>
    request(test.app.getHttpServer()).post('/graphql').set(headers).send({ query });
  beforeAll(async () => {
    test = await createTestApp(server.adapter, {
      imports: [ApiKeyModule.forRoot({ lookup: new InMemoryLookup(RECORDS) }), server.graphql()],
      providers: [PerResolverResolver, TenantEcho],
    });
  });
  afterAll(() => test.close());

  it('protects a resolver with @ApiKeyAuth() and leaves the others open', async () => {
    const refused = await post('{ keyed }');
    expect(refused.body.errors[0].extensions.code).toBe('AUTHENTICATION_REQUIRED');
    expect((await post('{ keyed }', { 'X-API-KEY': KEYS.staging })).body.data).toEqual({ keyed: 'key-stage' });
    expect((await post('{ open }')).body.data).toEqual({ open: 'open' });
  });

  it('runs a resolver in the tenant TenantInterceptor chooses, and refuses a foreign tenant', async () => {
    const chosen = await post('{ partnerTenant }', { 'X-TENANT-ID': '8' });
    expect({ status: chosen.status, data: chosen.body.data }).toEqual({ status: 200, data: { partnerTenant: '8' } });
    const foreign = await post('{ partnerTenant }', { 'X-TENANT-ID': '999' });
    expect({ status: foreign.status, code: foreign.body.errors[0].extensions.code, data: foreign.body.data }).toEqual({
      status: 403,
      code: 'TENANT_NOT_FOUND',
      data: null,
    });
  });
});

describe('a field resolver with its own scope, where Nest runs no guard on field resolvers', () => {
  it.each(SERVERS)('stops the app at start-up on $name, naming the field and the fix', async (server) => {
    const withoutFieldGuards = () =>
      server.adapter === 'fastify' && server.name.startsWith('Mercurius')
        ? GraphQLModule.forRoot<MercuriusDriverConfig>({ driver: MercuriusDriver, autoSchemaFile: true })
        : GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true });
    await expect(
      createTestApp(server.adapter, {
        imports: [ApiKeyModule.forRoot({ lookup: new InMemoryLookup(RECORDS) }), withoutFieldGuards()],
        providers: [WhoamiResolver, ItemResolver, TenantEcho],
      }),
    ).rejects.toThrow(
      'nest-keyring: ItemResolver.secret is a field resolver with @RequireScopes() or @ApiKeyAuth(), ' +
        "but Nest runs no guard on field resolvers unless GraphQLModule's fieldResolverEnhancers includes 'guards'",
    );
  });
});
