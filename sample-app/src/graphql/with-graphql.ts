import type { DynamicModule } from '@nestjs/common';
import { GraphqlApiModule } from './graphql-api.module.js';
import { MessagesResolver } from './messages.resolver.js';

/**
 * The app with GraphQL at `/graphql` as well. The resolver joins the app's own module, beside
 * the REST controllers and `MessagesService` it shares with them.
 */
export function withGraphql(app: DynamicModule): DynamicModule {
  return {
    ...app,
    imports: [...(app.imports ?? []), GraphqlApiModule],
    providers: [...(app.providers ?? []), MessagesResolver],
  };
}

/** The GraphQL lines of the start-up help: a query and a mutation to paste into a shell. */
export function graphqlExamples(base: string, productionKey: string, stagingKey: string): string {
  const post = (key: string, query: string, extra = '') =>
    `curl -i ${base}/graphql -H "Authorization: Bearer ${key}"${extra} -H "Content-Type: application/json" ` +
    `-d '${JSON.stringify({ query })}'`;
  return `GraphQL (${base}/graphql, same keys and headers):
# 200: the key's id, environment and tenant
${post(productionKey, '{ me { keyId environment tenant { id name } } }', ' -H "X-TENANT-ID: 456"')}
# 200: send a message (scope messages:send)
${post(productionKey, 'mutation { sendMessage(phone: "+966501234567", body: "Hi") { messageId tenantId status } }')}
# 403 INSUFFICIENT_SCOPE in errors[0].extensions.code, no data: the staging key lacks messages:send
${post(stagingKey, 'mutation { sendMessage(phone: "+966501234567", body: "Hi") { messageId } }')}
`;
}
