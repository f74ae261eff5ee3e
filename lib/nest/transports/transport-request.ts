import type { ExecutionContext } from '@nestjs/common';
import type { AdmissionInput } from '../../core/admission/admit-request.js';
import { clientAddressOf, nodeRequestOf } from '../../core/admission/request-admission.js';
import type { KeyringRequest } from '../access/keyring-request.interface.js';
import { graphqlRequestIn } from './graphql.js';

/**
 * The request of an execution context, in every transport nest-keyring reads by itself: HTTP
 * routes, GraphQL resolvers and WebSocket gateways (the socket). `undefined` for any other
 * transport. The guard's and the
 * interceptor's `getRequest` and the parameter decorators all read the request through it, so
 * they agree on which object carries `apiKey` and `tenant`.
 */
export function transportRequestOf(context: ExecutionContext): KeyringRequest | undefined {
  const type = context.getType<string>();
  // getArgByIndex(0) is switchToHttp().getRequest() without the object switchToHttp() builds; for
  // a gateway's message, the socket, on which KeyringIoAdapter / KeyringWsAdapter put the key and
  // tenant its handshake was admitted with.
  if (type === 'http' || type === 'ws') return context.getArgByIndex<KeyringRequest>(0);
  return type === 'graphql' ? graphqlRequestIn(context.getArgByIndex(2)) : undefined;
}

/** What `admitRequest` reads off a request a Nest transport handed over. */
export function admissionInputOf(
  request: KeyringRequest,
  scopes: readonly string[],
  unitOfWork: boolean,
): AdmissionInput {
  // On Fastify, `request.raw` holds what Node received.
  const node = nodeRequestOf(request);
  return {
    request,
    headers: request.headers,
    rawHeaders: (node as { rawHeaders?: string[] }).rawHeaders,
    clientAddress: clientAddressOf(node),
    requiredScopes: scopes,
    unitOfWork,
  };
}
