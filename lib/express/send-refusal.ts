import type { ServerResponse } from 'node:http';
import { faultLogMessage, type KeyringFailure } from '../core/refusals/failure.js';
import type { Keyring } from '../core/keyring.js';
import type { Responder } from '../core/admission/decision-events.js';
import type { KeyringLogger, NextFunction } from './http-types.js';

/**
 * Answers a refusal with Node's own response API, so it works the same on Express 4, Express 5
 * and Nest's middleware layer, and matches what Nest's exception filter sends. A refusal that
 * hides a fault of ours is logged first (its cause never holds a key or a secret). Nothing is
 * written once the headers were sent (a timeout answered first): the refusal goes to `next`,
 * which ends the response.
 */
export function sendRefusal(
  response: ServerResponse,
  failure: KeyringFailure,
  refusals: Responder & Partial<Pick<Keyring, 'formatRuleLine'>>,
  logger: KeyringLogger,
  next: NextFunction,
): void {
  const refusal = refusals.errorResponse(failure);
  const fault = faultLogMessage(failure, refusal.status);
  if (fault !== undefined) {
    const cause = failure.cause instanceof Error ? failure.cause.message : String(failure.cause);
    logger.error(`[nest-keyring] ${fault}: ${cause}`);
  }
  const formatRule = refusals.formatRuleLine?.(failure);
  if (formatRule !== undefined) logger.debug?.(`[nest-keyring] ${formatRule}`);
  if (response.headersSent) {
    next(new Error(`nest-keyring: request refused (${failure.reason}) after its response was sent`));
    return;
  }
  const body = JSON.stringify(refusal.body);
  response.statusCode = refusal.status;
  for (const [name, value] of Object.entries(refusal.headers)) response.setHeader(name, value);
  response.setHeader('Content-Type', 'application/json; charset=utf-8');
  response.setHeader('Content-Length', Buffer.byteLength(body));
  response.end(body);
}
