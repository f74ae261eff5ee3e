import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { IntrospectionNeedsKey } from './introspection-needs-key.plugin.js';

/**
 * GraphQL at `/graphql` on the app's port: Apollo, code first, the schema built in memory.
 * `preserveHttpStatusForExecutionErrors: false` lets a refused operation answer with the
 * refusal's status (401, 403, 503), as the REST routes do; Nest's Apollo driver answers 200
 * otherwise. The code is in `errors[0].extensions.code` either way. Introspection needs a key
 * too (`IntrospectionNeedsKey`), and validation errors suggest no field names ("Did you mean …").
 */
@Module({
  imports: [
    GraphQLModule.forRoot<ApolloDriverConfig>({
      driver: ApolloDriver,
      path: '/graphql',
      autoSchemaFile: true,
      graphiql: false,
      preserveHttpStatusForExecutionErrors: false,
      // Apollo adds stack traces to errors outside NODE_ENV=production; a client has no use for them.
      includeStacktraceInErrorResponses: false,
      // The schema stays private where introspection needs a key: no "Did you mean …" in errors.
      hideSchemaDetailsFromClientErrors: true,
    }),
  ],
  providers: [IntrospectionNeedsKey],
})
export class GraphqlApiModule {}
