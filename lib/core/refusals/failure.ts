import type { RateLimitStatus } from '../limits/rate-limit-status.js';

/**
 * Why a request was refused. Each failure has exactly one reason; error formats map reasons to
 * HTTP statuses and codes.
 */
export type FailureReason =
  /** No credential in any accepted header. */
  | 'missing'
  /** A credential header is present but not in a form we accept (scheme, whitespace, alphabet, length, conflict). */
  | 'malformed'
  /** The key is well-formed but unknown to the store, or its prefix names no environment. */
  | 'invalid'
  /** The record's `expiresAt` has passed. */
  | 'expired'
  /** The record is marked `revoked`. */
  | 'revoked'
  /** The key belongs to an environment this deployment does not accept, or disagrees with its record. */
  | 'wrong_environment'
  /** The key is linked to no tenant. */
  | 'no_tenant'
  /** The requested tenant is not linked to the key. */
  | 'tenant_not_found'
  /** The key lacks a scope the route requires. */
  | 'insufficient_scope'
  /** The key store threw or did not answer in time. */
  | 'lookup_unavailable'
  /** Unknown keys arrived faster than `unknownKeyLookups` allows; a key not in the cache was not looked up. */
  | 'lookup_throttled'
  /** The key (or, with `rateLimit.perTenant`, the key and tenant) used up its rate limit for the current window. */
  | 'rate_limited'
  /** A webhook route checks a Bearer secret and the request has no `Authorization` header. */
  | 'webhook_secret_missing'
  /** `Authorization` is present but not in `Bearer <secret>` form. */
  | 'webhook_secret_malformed'
  /** The Bearer secret matches none of the secrets configured for the route. */
  | 'webhook_secret_invalid'
  /** A signed webhook lacks `webhook-id`, `webhook-timestamp` or `webhook-signature`. */
  | 'webhook_signature_missing'
  /**
   * No `webhook-signature` entry matches the body and a configured signing secret, or the body
   * was not kept as bytes, so nothing could match it.
   */
  | 'webhook_signature_invalid'
  /** `webhook-timestamp` is not Unix seconds, or is further from now than the tolerance. */
  | 'webhook_timestamp_invalid';

/** A refusal, as handed to error formats. Never holds the key. */
export interface KeyringFailure {
  /** For `rate_limited`: the limit, and when the window ends (`Retry-After`, `RateLimit` headers). */
  rateLimit?: RateLimitStatus;
  reason: FailureReason;
  /** For `insufficient_scope`: the scopes the route requires. */
  requiredScopes?: readonly string[];
  /** For `lookup_unavailable`: what the store threw, for logging (already redacted). */
  cause?: unknown;
  /**
   * For a key refused by the format rules before any lookup: which rule, for a debug log line
   * (never the key), e.g. "its checksum does not match".
   */
  detail?: string;
}

/**
 * The line to log for a refusal that hides a fault of ours (the key store failing), or
 * `undefined` for an ordinary refusal, which is not logged. Adapters log it with the failure's
 * `cause`, which never holds the key.
 */
export function faultLogMessage(failure: KeyringFailure, status: number): string | undefined {
  if (failure.reason === 'lookup_unavailable') return `API key lookup failed; answered ${status}`;
  // Logged once when throttling starts (only that refusal carries a cause), not per request.
  if (failure.reason === 'lookup_throttled' && failure.cause !== undefined)
    return `API key lookups throttled; answered ${status}`;
  return undefined;
}

/** Fragments of a key this long or longer are redacted from what is logged. */
const REDACTED_FRAGMENT_LENGTH = 8;

/**
 * Copies an error (its name and message; no stack, no `cause`) with the key redacted, so that a
 * store's error ("no row for 4kZ1x…") can be logged. Every run of 8 or more characters found in
 * the key, in any case, becomes `[redacted]`: the key whole, without its prefix, or any long
 * fragment of it. The key is only read here, never kept.
 */
export function redactedError(error: unknown, key: string | undefined): Error {
  const source = error instanceof Error ? error : new Error(String(error));
  const redacted = new Error(redact(source.message, key));
  redacted.name = redact(source.name, key);
  redacted.stack = `${redacted.name}: ${redacted.message}`;
  return redacted;
}

function redact(text: string, key: string | undefined): string {
  const size = REDACTED_FRAGMENT_LENGTH;
  if (!key || key.length < size) return key ? text.split(key).join('[redacted]') : text;
  const lower = text.toLowerCase();
  const folded = lower.length === text.length ? lower : text;
  // Every place the text holds a window of the key is hidden; overlapping ones make one run.
  const hidden = new Uint8Array(text.length);
  for (let i = 0; i + size <= key.length; i++) {
    const window = key.slice(i, i + size).toLowerCase();
    for (let at = folded.indexOf(window); at !== -1; at = folded.indexOf(window, at + 1)) hidden.fill(1, at, at + size);
  }
  let result = '';
  for (let start = 0, end = 0; start < text.length; start = end) {
    while (end < text.length && hidden[end] === hidden[start]) end++;
    result += hidden[start] ? '[redacted]' : text.slice(start, end);
  }
  return result;
}

/**
 * Thrown at start-up for options that cannot work. The message says what to change.
 */
export class KeyringConfigError extends Error {
  override readonly name = 'KeyringConfigError';
  constructor(message: string) {
    super(`nest-keyring: ${message}`);
  }
}
