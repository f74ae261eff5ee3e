import type { ServerResponse } from 'node:http';
import { faultLogMessage, type KeyringFailure } from '../core/failure.js';
import type { Keyring } from '../core/keyring.js';

/**
 * Writes a refusal with Node's own response API, so it works the same on Express 4, Express 5
 * and Nest's middleware layer, and matches what Nest's exception filter sends.
 */
export function sendRefusal(keyring: Keyring, response: ServerResponse, failure: KeyringFailure): void {
  const refusal = keyring.errorResponse(failure);
  const fault = faultLogMessage(failure, refusal.status);
  if (fault !== undefined) console.error(`[nest-keyring] ${fault}:`, failure.cause);
  const body = JSON.stringify(refusal.body);
  response.statusCode = refusal.status;
  for (const [name, value] of Object.entries(refusal.headers)) response.setHeader(name, value);
  response.setHeader('Content-Type', 'application/json; charset=utf-8');
  response.setHeader('Content-Length', Buffer.byteLength(body));
  response.end(body);
}
