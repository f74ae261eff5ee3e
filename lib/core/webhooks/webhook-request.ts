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
 * A webhook delivery as an HTTP framework hands it over: Node's request (Express, and Nest on
 * Express) or Fastify's, which keeps Node's in `raw`.
 */
export interface WebhookDelivery {
  /** Lower-cased request headers. */
  headers: RequestHeaders;
  rawBody?: unknown;
  body?: unknown;
  rawHeaders?: unknown;
  raw?: { rawHeaders?: unknown };
}

/**
 * What a check reads off a delivery. The bytes a signature is checked against are `rawBody`
 * (Nest's `rawBody: true`, or a parser's `verify`), else a `Buffer` in `body` (`express.raw()`);
 * anything that is not bytes (a parsed object, a string) is not what the sender signed and is
 * never used. Header lines count only as a list of strings.
 */
export function readDelivery({ headers, rawBody, body, rawHeaders, raw }: WebhookDelivery): WebhookRequest {
  const lines = rawHeaders ?? raw?.rawHeaders;
  return {
    headers,
    rawBody: rawBody instanceof Uint8Array ? rawBody : body instanceof Uint8Array ? body : undefined,
    rawHeaders: Array.isArray(lines) && lines.every((line) => typeof line === 'string') ? lines : undefined,
  };
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
