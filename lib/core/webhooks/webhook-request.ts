import { readHeader, type RequestHeaders } from '../admission/headers.js';
import type { Result } from '../result.js';

/** What a webhook check reads off a request; adapters fill it in. */
export interface WebhookRequest {
  /** Lower-cased request headers. */
  headers: RequestHeaders;
  /**
   * The body exactly as received, for signed webhooks: Nest's `req.rawBody` (`rawBody: true`),
   * or the `Buffer` that `express.raw()` leaves in `req.body`. `undefined` when nothing kept it.
   */
  rawBody?: Uint8Array | undefined;
  /**
   * The header lines as received (`[name, value, name, value, …]`): Node's `req.rawHeaders`,
   * Fastify's `request.raw.rawHeaders`. The only place a header sent on two lines always shows
   * (`headers` keeps the first `Authorization` and joins most others with ", ").
   */
  rawHeaders?: readonly string[] | undefined;
}

/**
 * The raw body an adapter found, if it is bytes. Anything else (a parsed object, a string) is
 * not what the sender signed and is never used to check a signature.
 */
export function asRawBody(value: unknown): Uint8Array | undefined {
  return value instanceof Uint8Array ? value : undefined;
}

/** The raw header lines an adapter found, if they are a list of strings. */
export function asRawHeaders(value: unknown): readonly string[] | undefined {
  return Array.isArray(value) && value.every((line) => typeof line === 'string') ? value : undefined;
}

/**
 * The outcome of a webhook check. Never holds a secret. `rawBodyMissing` marks a signed delivery
 * refused because its body was not kept as bytes: the answer is a bad signature's, and the
 * adapter logs it once (see `createRawBodyWarning`), as it may be a set-up mistake.
 */
export type WebhookCheck = Result<object, { rawBodyMissing?: true }>;

/**
 * True when the request says it carries a body (RFC 9112 §6.3: a `Transfer-Encoding`, or a
 * `Content-Length` above 0). A request that carries none has an empty body, so no raw body is
 * needed to check its signature.
 */
export function declaresBody(headers: RequestHeaders): boolean {
  if (readHeader(headers, 'transfer-encoding') !== undefined) return true;
  const length = readHeader(headers, 'content-length');
  return length !== undefined && !(typeof length === 'string' && /^0+$/.test(length));
}
