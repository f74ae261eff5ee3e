import type { KeyringFailure } from './failure.js';

/** A refusal in two words, for transports that carry a code and a message but no HTTP body. */
export interface RefusalSummary {
  /** The error code of the configured format, e.g. `AUTHENTICATION_REQUIRED` or `AUTH_002`. */
  readonly code: string;
  readonly message: string;
}

function stringField(value: unknown, name: string): string | undefined {
  const field = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
  return typeof field === 'string' && field !== '' ? field : undefined;
}

/**
 * The code and message of a refusal's body, so that a transport without an HTTP body (a GraphQL
 * error, a WebSocket refusal) speaks the same vocabulary as the REST answer. Both presets put
 * them in `error.code` / `error.message`; a custom format is read there, then at the top level
 * (`code` / `message`); a body with neither gets the failure's reason, upper-cased.
 */
export function summarizeRefusal(failure: KeyringFailure, body: object): RefusalSummary {
  const error = (body as { error?: unknown }).error;
  return {
    code: stringField(error, 'code') ?? stringField(body, 'code') ?? failure.reason.toUpperCase(),
    message: stringField(error, 'message') ?? stringField(body, 'message') ?? 'Request refused.',
  };
}
