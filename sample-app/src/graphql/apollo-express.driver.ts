import { ApolloServer, HeaderMap, type BaseContext } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/**
 * `ApolloDriver` serving Apollo Server 5 on Express without `@as-integrations/express5`: what
 * that package's `expressMiddleware` does, in a few lines (this project does not install it).
 * With the package installed, use `ApolloDriver` itself; nest-keyring behaves the same.
 */
@Injectable()
export class ApolloExpressDriver extends ApolloDriver {
  protected override async registerExpress(
    options: ApolloDriverConfig,
    { preStartHook }: { preStartHook?: () => void } = {},
  ): Promise<void> {
    const httpAdapter = this.httpAdapterHost.httpAdapter;
    const path = options.path ?? '/graphql';
    preStartHook?.();
    const { typeDefs, resolvers, schema } = options;
    const drain = ApolloServerPluginDrainHttpServer({ httpServer: httpAdapter.getHttpServer() });
    const server = new ApolloServer<BaseContext>({
      typeDefs,
      resolvers,
      schema,
      ...(options as object),
      plugins: [...(options.plugins ?? []), drain],
    } as ConstructorParameters<typeof ApolloServer<BaseContext>>[0]);
    await server.start();
    const context = options.context as ((input: { req: Request; res: Response }) => Promise<BaseContext>) | undefined;
    httpAdapter.use(path, (req: Request, res: Response, next: NextFunction) => {
      const headers = new HeaderMap();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
      const search = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
      server
        .executeHTTPGraphQLRequest({
          httpGraphQLRequest: { method: req.method.toUpperCase(), headers, search, body: req.body ?? {} },
          context: async () => (context ? context({ req, res }) : { req }),
        })
        .then(async (answer) => {
          for (const [name, value] of answer.headers) res.setHeader(name, value);
          res.status(answer.status ?? 200);
          if (answer.body.kind === 'complete') {
            res.send(answer.body.string);
            return;
          }
          for await (const chunk of answer.body.asyncIterator) res.write(chunk);
          res.end();
        })
        .catch(next);
    });
    this.apolloServer = server;
  }
}
