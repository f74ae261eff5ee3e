// A key's rate limit counts GraphQL work: each root field (aliases and batched operations
// included) is one unit.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Module, RequestMethod, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { Args, Field, Int, Mutation, ObjectType, Query, ResolveField, Resolver } from '@nestjs/graphql';
import request from 'supertest';
import { ApiKeyModule, ApiKeyNestMiddleware, type ApiKeyRecord } from '../../lib/index.js';
import { InMemoryLookup, withChecksum } from '../fixtures/in-memory-lookup.js';
import { graphqlServers } from '../fixtures/graphql-servers.js';
import { createTestApp, HandlerLog, type TestApp } from '../fixtures/test-app.js';

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

const SERVERS = graphqlServers({ allowBatchedHttpRequests: true }, { allowBatchedQueries: true });

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
    const answers = Array.from({ length: 10 }, (_, n) => [`f${n}`, n < 2 ? String(n) : null]);
    expect(response.body.data).toEqual(Object.fromEntries(answers));
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

/** `ApiKeyNestMiddleware` admits `POST /graphql` before any resolver runs. */
@Module({})
class AdmittedByMiddleware implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(ApiKeyNestMiddleware).forRoutes({ path: 'graphql', method: RequestMethod.POST });
  }
}

describe.each(SERVERS)('GraphQL limits on $name behind ApiKeyNestMiddleware', (server) => {
  let test: TestApp;
  beforeAll(async () => {
    test = await createTestApp(server.adapter, {
      imports: [
        ApiKeyModule.forRoot({ lookup: new InMemoryLookup(RECORDS), protectAllRoutes: true }),
        server.graphql(),
        AdmittedByMiddleware,
      ],
      providers: [LimitedResolver],
    });
  });
  afterAll(() => test.close());

  it("takes the middleware's admission as the first root field's unit: 2 of 3 run for a key limited to 2", async () => {
    const response = await request(test.app.getHttpServer())
      .post('/graphql')
      .set('X-API-KEY', LIMITED[5]!)
      .send({ query: aliased('mutation', 'send', 3) });
    expect(test.handlers.calls).toEqual(['send 0', 'send 1']);
    expect(refusedFields(response.body)).toEqual([['f2', 'RATE_LIMITED']]);
    // The middleware did admit it: without a key, its refusal (not a GraphQL error) answers.
    const refused = await request(test.app.getHttpServer()).post('/graphql').send({ query: '{ echo(body: "x") }' });
    expect([refused.status, refused.body.error?.code]).toEqual([401, 'AUTHENTICATION_REQUIRED']);
  });
});
