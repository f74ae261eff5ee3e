import type { ExecutionContext, Logger } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { faultLogMessage, type KeyringFailure } from '../../core/refusals/failure.js';
import type { Keyring } from '../../core/keyring.js';
import { KeyringException } from './keyring.exception.js';
import { graphqlRefusalIn, isGraphqlContext } from '../transports/graphql.js';

/**
 * True when the response has already been sent (e.g. a timeout answered while a lookup ran).
 * Only an HTTP context has a response of the adapter's; for another transport (a guard
 * subclass's `getRequest`), `false`.
 */
export function responseSent(adapterHost: HttpAdapterHost, context: ExecutionContext): boolean {
  return context.getType() === 'http' && adapterHost.httpAdapter.isHeadersSent(context.switchToHttp().getResponse());
}

/**
 * Answers a refusal from a guard or an interceptor: sets its headers through the adapter (so
 * Express and Fastify behave alike) and throws it for Nest's exception layer to send. Nothing is
 * written to a response that was already sent (Nest's exception layer then only ends it), nor
 * outside HTTP, where the exception is all there is to answer with. In a GraphQL resolver the
 * refusal is a GraphQL error carrying the format's code (see `graphqlRefusalIn`).
 */
export function refuse(
  keyring: Keyring,
  adapterHost: HttpAdapterHost,
  logger: Logger,
  context: ExecutionContext,
  failure: KeyringFailure,
): never {
  const response = keyring.errorResponse(failure);
  const fault = faultLogMessage(failure, response.status);
  if (fault !== undefined) logger.error(fault, failure.cause);
  const formatRule = keyring.formatRuleLine(failure);
  if (formatRule !== undefined) logger.debug(formatRule);
  // A resolver's refusal is a GraphQL error: the server sends it, with the format's code.
  if (isGraphqlContext(context)) throw graphqlRefusalIn(context.getArgByIndex(2), failure, response);
  if (context.getType() === 'http' && !responseSent(adapterHost, context)) {
    const reply = context.switchToHttp().getResponse();
    for (const [name, value] of Object.entries(response.headers)) adapterHost.httpAdapter.setHeader(reply, name, value);
  }
  // A refusal is an answer, not a fault: nobody reads its stack, and capturing one through Nest's
  // call depth is most of what throwing costs (a flood of forged keys pays it on every request).
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    throw new KeyringException(failure, response);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}
