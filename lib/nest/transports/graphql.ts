import type { ExecutionContext } from '@nestjs/common';
import { summarizeRefusal, type ErrorResponse } from '../../core/refusals/error-format.js';
import type { KeyringFailure } from '../../core/refusals/failure.js';
import type { KeyringRequest } from '../access/keyring-request.interface.js';
import { KeyringException } from '../refusals/keyring.exception.js';

// GraphQL support reads what `@nestjs/graphql` hands to guards (`getArgs()`: root, args,
// context, info) without importing it: an app without GraphQL loads nothing of it.

/** A Fastify reply, as Mercurius puts it in the GraphQL context. */
interface MercuriusReply {
  request?: unknown;
  sent?: boolean;
  header(name: string, value: string): unknown;
}

/** What a resolver's `info` says of where it is: a root field's `path` has no `prev`. */
type GraphqlInfo = { path?: { prev?: unknown } };

/** The GraphQL context of the servers Nest drives: Apollo `{ req }`, Mercurius `{ reply, app }`. */
interface GraphqlContext {
  req?: unknown;
  reply?: MercuriusReply;
}

/** True for a resolver's execution context (`@nestjs/graphql` names its context type `'graphql'`). */
export function isGraphqlContext(context: ExecutionContext): boolean {
  return context.getType<string>() === 'graphql';
}

/**
 * True for a root field's resolver (`info.path` has no parent): one unit of an operation's
 * work, which counts against the key's rate limit. Field resolvers below it are part of it.
 */
export function isGraphqlRootField(context: ExecutionContext): boolean {
  return isGraphqlContext(context) && context.getArgByIndex<GraphqlInfo | undefined>(3)?.path?.prev === undefined;
}

/**
 * The HTTP request a GraphQL operation came in, from its GraphQL context (a resolver's third
 * argument): the context's `req` (both Nest drivers put it there) or, on Mercurius,
 * `reply.request`. `undefined` when the context holds neither (a subscription over a WebSocket,
 * a context of the app's own without `req`).
 */
export function graphqlRequestIn(gql: unknown): KeyringRequest | undefined {
  const { req, reply } = (gql ?? {}) as GraphqlContext;
  const request = (req ?? reply?.request) as KeyringRequest | null | undefined;
  return typeof request?.headers === 'object' && request.headers !== null ? request : undefined;
}

/** What a GraphQL refusal carries in `errors[].extensions`. */
export interface GraphqlRefusalExtensions {
  /** The configured format's code, e.g. `AUTHENTICATION_REQUIRED` (`cubeconnect`) or `AUTH_002` (`connexease`). */
  code: string;
  /**
   * Apollo Server's convention: it answers with `status` and adds `headers` to the response,
   * and leaves `http` out of the error it sends. Not set on Mercurius, which reads
   * `statusCode` instead and would send `http` to the client.
   */
  http?: { status: number; headers: Map<string, string> };
}

/**
 * A refusal thrown from a resolver's guard: still a `KeyringException` (filters and `reason`
 * work as on REST), shaped for GraphQL servers. graphql-js copies `extensions` from the error
 * a resolver throws, so `errors[0].extensions.code` is the format's code and `message` its
 * message; Mercurius answers with `statusCode` when the error is the only one and no data was
 * produced.
 */
export class GraphqlKeyringException extends KeyringException {
  readonly extensions: GraphqlRefusalExtensions;
  /** The refusal's HTTP status, for Mercurius' default error formatter. */
  readonly statusCode: number;

  constructor(failure: KeyringFailure, response: ErrorResponse, withHttpExtension: boolean) {
    super(failure, response);
    const { code, message } = summarizeRefusal(failure, response.body);
    this.message = message;
    this.statusCode = response.status;
    this.extensions = withHttpExtension
      ? { code, http: { status: response.status, headers: new Map(Object.entries(response.headers)) } }
      : { code };
  }
}

/**
 * The refusal of a GraphQL operation, from its GraphQL context (a resolver's third argument, or
 * a server hook's): on Mercurius, its headers (`WWW-Authenticate`, `Retry-After`) go on the reply
 * at once; elsewhere they travel in `extensions.http`.
 */
export function graphqlRefusalIn(
  gql: unknown,
  failure: KeyringFailure,
  response: ErrorResponse,
): GraphqlKeyringException {
  const reply = (gql as GraphqlContext | undefined)?.reply;
  if (typeof reply?.header !== 'function') return new GraphqlKeyringException(failure, response, true);
  if (reply.sent !== true) for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
  return new GraphqlKeyringException(failure, response, false);
}
