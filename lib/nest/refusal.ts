import type { ExecutionContext, Logger } from '@nestjs/common';
import type { HttpAdapterHost, Reflector } from '@nestjs/core';
import { faultLogMessage, type KeyringFailure } from '../core/failure.js';
import type { Keyring } from '../core/keyring.js';
import { PUBLIC_ROUTE_METADATA } from './api-key.constants.js';
import { ApiKeyException } from './api-key.exception.js';

/** True when `@Public()` is on the route or its controller. */
export function isPublicRoute(reflector: Reflector, context: ExecutionContext): boolean {
  return reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE_METADATA, [context.getHandler(), context.getClass()]) === true;
}

/**
 * Answers a refusal from a guard or an interceptor: sets its headers through the adapter (so
 * Express and Fastify behave alike) and throws it for Nest's exception layer to send.
 */
export function refuse(keyring: Keyring, adapterHost: HttpAdapterHost, logger: Logger, context: ExecutionContext, failure: KeyringFailure): never {
  const response = keyring.errorResponse(failure);
  const fault = faultLogMessage(failure, response.status);
  if (fault !== undefined) logger.error(fault, failure.cause);
  const reply = context.switchToHttp().getResponse();
  for (const [name, value] of Object.entries(response.headers)) {
    adapterHost.httpAdapter.setHeader(reply, name, value);
  }
  throw new ApiKeyException(failure, response);
}
