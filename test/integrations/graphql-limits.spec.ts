// A key's rate limit counts GraphQL work: each root field (aliases and batched operations
// included) is one unit. And a client without a key learns no field names from the server's
// validation errors where introspection needs a key.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { DynamicModule } from '@nestjs/common';
import { ApolloDriver, Plugin, type ApolloDriverConfig } from '@nestjs/apollo';
import { Args, Field, GraphQLModule, Int, Mutation, ObjectType, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import mercurius from 'mercurius';
import request from 'supertest';
import { ApiKeyModule, GraphqlIntrospectionCheck, type ApiKeyRecord } from '../../lib/index.js';
import { InMemoryLookup, withChecksum } from '../fixtures/in-memory-lookup.js';
import { createTestApp, HandlerLog, type AdapterName, type TestApp } from '../fixtures/test-app.js';

// A fresh key per test, each limited to 2 units a minute, so no test spends another's.
const LIMITED = Array.from({ length: 8 }, (_, n) => withChecksum(`pk_gqllimit${n}_5a6b7c8d`));
const RECORDS: Record<string, ApiKeyRecord> = Object.fromEntries(
  LIMITED.map((key, n) => [
    key,
    { id: `limited-${n}`, tenants: [{ id: 1 }], rateLimit: { limit: 2, windowMs: 60_000 } },
  ]),
);

@ObjectType()
class Item {
  @Field(() => Int)
  n!: number;
}

@Resolver(() => Item)
class LimitedResolver {
  constructor(private readonly handlers: HandlerLog) {}

  // Nullable, so the fields that ran keep their answer beside the refused ones.
  @Mutation(() => String, { nullable: true })
  send(@Args('body', { type: () => String }) body: string): string {
    this.handlers.ran(`send ${body}`);
    return body;
  }

  @Query(() => String, { nullable: true })
  echo(@Args('body', { type: () => String }) body: string): string {
    this.handlers.ran(`echo ${body}`);
    return body;
  }

  @Query(() => [Item])
  items(): Item[] {
    this.handlers.ran('items');
    return Array.from({ length: 20 }, (_, n) => ({ n }));
  }

  // A field resolver runs the guard on each item (fieldResolverEnhancers: ['guards']): part of
  // its root field's unit, never one of its own.
  @ResolveField(() => String)
  label(): string {
    return 'x';
  }
}

interface Server {
  name: string;
  adapter: AdapterName;
  graphql: () => DynamicModule;
}

const SERVERS: Server[] = [
  {
    name: 'Apollo on Express',
    adapter: 'express',
    graphql: () =>
      GraphQLModule.forRoot<ApolloDriverConfig>({
        driver: ApolloDriver,
        autoSchemaFile: true,
        fieldResolverEnhancers: ['guards'],
        allowBatchedHttpRequests: true,
      }),
  },
  {
    name: 'Apollo on Fastify',
    adapter: 'fastify',
    graphql: () =>
      GraphQLModule.forRoot<ApolloDriverConfig>({
        driver: ApolloDriver,
        autoSchemaFile: true,
        fieldResolverEnhancers: ['guards'],
        allowBatchedHttpRequests: true,
      }),
  },
  {
    name: 'Mercurius on Fastify',
    adapter: 'fastify',
    graphql: () =>
      GraphQLModule.forRoot<MercuriusDriverConfig>({
        driver: MercuriusDriver,
        autoSchemaFile: true,
        fieldResolverEnhancers: ['guards'],
        allowBatchedQueries: true,
      }),
  },
];

const aliased = (operation: 'mutation' | 'query', field: string, count: number): string =>
  `${operation} { ${Array.from({ length: count }, (_, n) => `f${n}: ${field}(body: "${n}")`).join(' ')} }`;

/** The `extensions.code` of each error, and the alias it refused. */
const refusedFields = (body: { errors?: { path?: string[]; extensions?: { code?: string } }[] }) =>
  (body.errors ?? []).map((error) => [error.path?.[0], error.extensions?.code]);

describe.each(SERVERS)('GraphQL limits on $name: one unit per root field', (server) => {
  let test: TestApp;
  let lookup: InMemoryLookup;
  const post = (body: object, key: string) =>
    request(test.app.getHttpServer()).post('/graphql').set('X-API-KEY', key).send(body);
  beforeAll(async () => {
    lookup = new InMemoryLookup(RECORDS);
    test = await createTestApp(server.adapter, {
      imports: [ApiKeyModule.forRoot({ lookup, protectAllRoutes: true }), server.graphql()],
      providers: [LimitedResolver],
    });
  });
  afterAll(() => test.close());
  beforeEach(() => {
    test.handlers.calls.length = 0;
  });
  // Puts a key in the cache without spending a unit: a refused tenant is never counted.
  const cache = async (key: string) => {
    const refused = await post({ query: '{ echo(body: "warm") }' }, key).set('X-TENANT-ID', '999');
    expect(refusedFields(refused.body)).toEqual([['echo', 'TENANT_NOT_FOUND']]);
  };

  it('runs 2 of 10 aliased mutations for a key limited to 2; the other 8 are refused RATE_LIMITED', async () => {
    const response = await post({ query: aliased('mutation', 'send', 10) }, LIMITED[0]!);
    expect(test.handlers.calls).toEqual(['send 0', 'send 1']);
    expect(response.body.data).toEqual({ f0: '0', f1: '1', f2: null, f3: null, f4: null, f5: null, f6: null, f7: null, f8: null, f9: null }); // prettier-ignore
    expect(refusedFields(response.body)).toEqual(
      ['f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9'].map((alias) => [alias, 'RATE_LIMITED']),
    );
    // The window is spent: the next operation is refused before its resolver runs.
    const next = await post({ query: 'mutation { send(body: "later") }' }, LIMITED[0]!);
    expect(refusedFields(next.body)).toEqual([['send', 'RATE_LIMITED']]);
    expect(test.handlers.calls).toEqual(['send 0', 'send 1']);
  });

  it.each([
    ['the cache holds (each field checked at once)', true, 1],
    ['not yet cached (all fields waiting on one lookup)', false, 4],
  ])('counts the root fields of a query alike, with a key %s', async (_, cached, n) => {
    if (cached) await cache(LIMITED[n]!);
    const response = await post({ query: aliased('query', 'echo', 10) }, LIMITED[n]!);
    expect(test.handlers.calls).toHaveLength(2);
    expect(refusedFields(response.body).filter(([, code]) => code === 'RATE_LIMITED')).toHaveLength(8);
    expect(response.body.errors).toHaveLength(8);
  });

  it('counts each operation of a batch (an array body)', async () => {
    await cache(LIMITED[2]!);
    const batch = Array.from({ length: 5 }, (_, n) => ({ query: `mutation { send(body: "${n}") }` }));
    const response = await post(batch, LIMITED[2]!);
    expect(test.handlers.calls).toEqual(['send 0', 'send 1']);
    expect(response.body).toHaveLength(5);
    expect(response.body.map((answer: { data?: { send: string | null } }) => answer.data?.send ?? null)).toEqual([
      '0',
      '1',
      null,
      null,
      null,
    ]);
    expect(response.body.slice(2).map(refusedFields)).toEqual([
      [['send', 'RATE_LIMITED']],
      [['send', 'RATE_LIMITED']],
      [['send', 'RATE_LIMITED']],
    ]);
  });

  it('counts a root field once, however many field resolvers its items run', async () => {
    const query = { query: '{ items { n label } }' };
    for (const _ of [1, 2]) expect((await post(query, LIMITED[3]!)).body.data.items).toHaveLength(20);
    expect(refusedFields((await post(query, LIMITED[3]!)).body)).toEqual([['items', 'RATE_LIMITED']]);
    expect(test.handlers.calls).toEqual(['items', 'items']);
  });
});

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

@Plugin()
class IntrospectionNeedsKey extends GraphqlIntrospectionCheck {}

const PRIVATE_SCHEMA: (Server & { hidden: boolean })[] = [true, false].flatMap((hidden) => [
  {
    name: `Apollo on Express, hideSchemaDetailsFromClientErrors: ${hidden}`,
    adapter: 'express' as const,
    hidden,
    graphql: () =>
      GraphQLModule.forRoot<ApolloDriverConfig>({
        driver: ApolloDriver,
        autoSchemaFile: true,
        hideSchemaDetailsFromClientErrors: hidden,
      }),
  },
  {
    name: `Mercurius on Fastify, ${hidden ? 'an' : 'no'} error formatter`,
    adapter: 'fastify' as const,
    hidden,
    graphql: () =>
      GraphQLModule.forRootAsync<MercuriusDriverConfig>({
        driver: MercuriusDriver,
        inject: [GraphqlIntrospectionCheck],
        useFactory: (check: GraphqlIntrospectionCheck) => ({
          autoSchemaFile: true,
          hooks: { preExecution: [check.preExecution] },
          ...(hidden && { errorFormatter: withoutSuggestions }),
        }),
      }),
  },
]);

describe.each(PRIVATE_SCHEMA)('schema privacy on $name', (server) => {
  let test: TestApp;
  beforeAll(async () => {
    test = await createTestApp(server.adapter, {
      imports: [
        ApiKeyModule.forRoot({ lookup: new InMemoryLookup(RECORDS), protectAllRoutes: true }),
        server.graphql(),
      ],
      providers: [LimitedResolver, ...(server.adapter === 'express' ? [IntrospectionNeedsKey] : [])],
    });
  });
  afterAll(() => test.close());

  it(`${server.hidden ? 'names no field' : 'names fields (the setting matters)'} to a client without a key`, async () => {
    const response = await request(test.app.getHttpServer()).post('/graphql').send({ query: '{ itemz { n } }' });
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors[0].message).toMatch(/^Cannot query field "itemz" on type "Query"\./);
    if (server.hidden) expect(response.text).not.toMatch(/Did you mean|"items"/);
    else expect(response.body.errors[0].message).toContain('Did you mean "items"?');
    expect(test.handlers.calls).toEqual([]);
  });
});
