import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { bearerCredential, readHeader, repeatedHeader, type RequestHeaders } from '../admission/headers.js';
import { fail, type Result } from '../result.js';
import type { WebhookCheck, WebhookRequest } from './webhook-request.js';

/**
 * Longest webhook secret we read or accept. Far above any real secret (the Connexease Gateway
 * asks for 32 characters); it bounds the work a 16 KiB header can cause.
 */
export const MAX_WEBHOOK_SECRET_LENGTH = 1024;

// Visible ASCII: what a secret can be made of and still travel unchanged in an HTTP header
// (HTTP strips surrounding whitespace, and Node reads header bytes as latin-1).
const SECRET_CHARACTERS = new RegExp(`^[\\x21-\\x7e]{1,${MAX_WEBHOOK_SECRET_LENGTH}}$`);

/** True when `value` could be sent as `Authorization: Bearer <value>` unchanged. */
export function isSendableSecret(value: string): boolean {
  return SECRET_CHARACTERS.test(value);
}

const AUTHORIZATION = ['authorization'];

/**
 * Reads the secret from `Authorization: Bearer <secret>`, or says why there is none.
 *
 * - No `Authorization` header: `webhook_secret_missing`.
 * - Any other form: `webhook_secret_malformed`. The scheme is case-insensitive (RFC 9110
 *   §11.1) and must be followed by exactly one space and the secret, as for API keys: two
 *   spaces, a tab, another scheme, an empty header or a repeated one are refused, never
 *   trimmed into a match. `Authorization` on two lines (`rawHeaders`) is refused too: Node
 *   keeps the first, a proxy may have checked the last.
 */
export function readWebhookBearer(headers: RequestHeaders, rawHeaders?: readonly string[]): Result<{ secret: string }> {
  const raw = readHeader(headers, 'authorization');
  if (raw === undefined) return fail('webhook_secret_missing');
  if (typeof raw !== 'string' || repeatedHeader(rawHeaders, AUTHORIZATION) !== undefined)
    return fail('webhook_secret_malformed');
  const secret = bearerCredential(raw);
  return typeof secret === 'string' && isSendableSecret(secret)
    ? { ok: true, secret }
    : fail('webhook_secret_malformed');
}

/**
 * The check for a sender that puts a shared secret in `Authorization: Bearer <secret>` (the
 * Connexease Gateway): the secret must equal one of `secrets`, compared in constant time.
 * Several secrets let one be rotated without downtime.
 *
 * @param secrets already validated (see `resolveWebhookSecrets`)
 */
export function createBearerCheck(secrets: readonly string[]): (request: WebhookRequest) => WebhookCheck {
  const matches = createSecretMatcher(secrets);
  return ({ headers, rawHeaders }) => {
    const presented = readWebhookBearer(headers, rawHeaders);
    if (!presented.ok) return presented;
    return matches(presented.secret) ? { ok: true } : fail('webhook_secret_invalid');
  };
}

/**
 * A constant-time test of a presented secret against every configured one.
 *
 * Both sides are reduced to HMAC-SHA256 digests under a key drawn at start-up, so every
 * comparison is of two 32-byte values: neither the length nor the content of a configured secret
 * changes how long the test takes (`timingSafeEqual` alone throws on unequal lengths, which is an
 * early exit). Every configured secret is compared, matched or not, so the time does not say
 * which one matched either. The matcher keeps only digests, never the secrets themselves.
 *
 * @example
 * const matches = createSecretMatcher([oldSecret, newSecret]);
 * matches(presented); // true for either secret
 */
export function createSecretMatcher(secrets: readonly string[]): (presented: string) => boolean {
  // A key of our own, never published: nobody can precompute digests to compare against.
  const key = randomBytes(32);
  const digest = (value: string): Buffer => createHmac('sha256', key).update(value, 'utf8').digest();
  const expected = secrets.map(digest);
  return (presented) => {
    const actual = digest(presented);
    let matched = false;
    for (const candidate of expected) {
      // No `break` and no `||` short-circuit: the work is the same whichever secret matches.
      if (timingSafeEqual(actual, candidate)) matched = true;
    }
    return matched;
  };
}
