import { ApolloServer, HeaderMap, type BaseContext, type HTTPGraphQLResponse } from '@apollo/server';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';

type ContextFunction = (...args: unknown[]) => Promise<BaseContext>;

function headerMapOf(headers: IncomingHttpHeaders): HeaderMap {
  const map = new HeaderMap();
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) map.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return map;
}

function searchOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? '' : url.slice(query);
}

async function* chunksOf(body: HTTPGraphQLResponse['body']): AsyncGenerator<string> {
  if (body.kind === 'complete') yield body.string;
  else yield* body.asyncIterator;
}

/**
 * `ApolloDriver` serving Apollo Server 5 on Express and on Fastify by itself, without the
 * `@as-integrations/express5` / `@as-integrations/fastify` packages it otherwise loads (this
 * project does not install them): what their handlers do, in a few lines. With those packages
 * installed, use `ApolloDriver` itself; nest-keyring behaves the same.
 */
@Injectable()
export class ApolloHttpDriver extends ApolloDriver {
  protected override async registerExpress(options: ApolloDriverConfig): Promise<void> {
    const server = await this.startServer(options);
    const context = options.context as ContextFunction;
    this.httpAdapterHost.httpAdapter.use(
      options.path ?? '/graphql',
      (req: Request, res: Response, next: NextFunction) => {
        server
          .executeHTTPGraphQLRequest({
            httpGraphQLRequest: {
              method: req.method.toUpperCase(),
              headers: headerMapOf(req.headers),
              search: searchOf(req.originalUrl),
              body: req.body ?? {},
            },
            context: () => context({ req, res }),
          })
          .then(async (answer) => {
            for (const [name, value] of answer.headers) res.setHeader(name, value);
            res.status(answer.status ?? 200);
            for await (const chunk of chunksOf(answer.body)) res.write(chunk);
            res.end();
          })
          .catch(next);
      },
    );
  }

  protected override async registerFastify(options: ApolloDriverConfig): Promise<void> {
    const server = await this.startServer(options);
    const context = options.context as ContextFunction;
    const app = this.httpAdapterHost.httpAdapter.getInstance<FastifyInstance>();
    app.route({
      url: options.path ?? '/graphql',
      method: ['GET', 'POST', 'OPTIONS'],
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const answer = await server.executeHTTPGraphQLRequest({
          httpGraphQLRequest: {
            method: request.method.toUpperCase(),
            headers: headerMapOf(request.headers),
            search: searchOf(request.url),
            body: request.body ?? {},
          },
          context: () => context(request, reply),
        });
        for (const [name, value] of answer.headers) reply.header(name, value);
        reply.code(answer.status ?? 200);
        return answer.body.kind === 'complete' ? answer.body.string : reply.send(Readable.from(chunksOf(answer.body)));
      },
    });
  }

  private async startServer(options: ApolloDriverConfig): Promise<ApolloServer<BaseContext>> {
    const server = new ApolloServer<BaseContext>(options as ConstructorParameters<typeof ApolloServer<BaseContext>>[0]);
    await server.start();
    this.apolloServer = server;
    return server;
  }
}
