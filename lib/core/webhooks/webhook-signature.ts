import { createHmac, timingSafeEqual } from 'node:crypto';
import { readHeader, repeatedHeader, type RequestHeaders } from '../admission/headers.js';
import { fail } from '../result.js';
import { declaresBody, type WebhookCheck, type WebhookRequest } from './webhook-request.js';

/** How far a `webhook-timestamp` may be from now, either way, by default (Standard Webhooks' 5 minutes). */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

/** The prefix Standard Webhooks puts before a base64 signing secret. */
export const STANDARD_WEBHOOKS_SECRET_PREFIX = 'whsec_';

/**
 * Shortest signing key we accept: 24 bytes, the Standard Webhooks minimum, which is 32 base64
 * characters after `whsec_` (the same 32-character floor as a Bearer secret).
 */
export const MIN_SIGNING_KEY_BYTES = 24;

const SIGNATURE_BYTES = 32;
// Unix seconds; digits only, so `1e9`, `0x10` or `12abc` are not read as times.
const TIMESTAMP = /^[0-9]{1,15}$/;
const EMPTY = new Uint8Array(0);
const STANDARD_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'];
// Svix's libraries read the same scheme under these names as well.
const SVIX_HEADERS = ['svix-id', 'svix-timestamp', 'svix-signature'];

/**
 * The set of names the delivery uses, `undefined` when it sends headers of both: a proxy or a
 * library that reads the other set would see another delivery, so it is refused like a repeat.
 */
function headerNames(headers: RequestHeaders): readonly string[] | undefined {
  const sent = (names: readonly string[]) => names.some((name) => readHeader(headers, name) !== undefined);
  if (!sent(SVIX_HEADERS)) return STANDARD_HEADERS;
  return sent(STANDARD_HEADERS) ? undefined : SVIX_HEADERS;
}

/**
 * The `v1` signatures in a `webhook-signature` header: space-separated `v1,<base64>` entries,
 * several during a key rotation. Other versions (`v1a` is asymmetric) are not ours to check,
 * and an entry that is not 32 bytes of canonical base64 can match nothing.
 */
function v1Signatures(header: string): Buffer[] {
  const signatures: Buffer[] = [];
  for (const entry of header.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma === -1 || entry.slice(0, comma) !== 'v1') continue;
    const encoded = entry.slice(comma + 1);
    const bytes = Buffer.from(encoded, 'base64');
    if (bytes.length === SIGNATURE_BYTES && bytes.toString('base64') === encoded) signatures.push(bytes);
  }
  return signatures;
}

/** HMAC-SHA256 over `id.timestamp.body`, with the body's exact bytes. */
function sign(key: Uint8Array, id: string, timestamp: string, body: Uint8Array): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(body).digest();
}

/**
 * The check for a sender that signs its webhooks with the Standard Webhooks scheme
 * (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp` (Unix seconds) and
 * `webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, space-separated).
 * Services that send through Svix name them `svix-id`, `svix-timestamp` and `svix-signature`;
 * either set is read, one per request.
 *
 * In order, each refusal with its own reason:
 * 1. a header missing or empty: `webhook_signature_missing`;
 * 2. a header sent on more than one line (`rawHeaders`; Node would join them with ", ", and a
 *    good signature on the second line would pass), headers of both sets, or not a string:
 *    `webhook_signature_invalid`;
 * 3. a timestamp that is not Unix seconds, or more than `toleranceSeconds` from now either way
 *    (a replay, or a clock far off): `webhook_timestamp_invalid`;
 * 4. a body the request declares but no adapter kept as bytes: `webhook_signature_invalid`,
 *    marked `rawBodyMissing`. Nothing can verify such a body (a re-serialised one is never
 *    used), so it gets a bad signature's answer, whoever sent it; the mark lets the adapter say
 *    once that it may be a set-up mistake;
 * 5. no `v1` signature equal to one made with any of `keys`: `webhook_signature_invalid`.
 *    Every signature is compared with every key in constant time, without stopping at a match.
 *
 * @param keys the decoded signing secrets (see `resolveWebhookSecrets`)
 */
export function createSignatureCheck(
  keys: readonly Uint8Array[],
  toleranceSeconds: number,
): (request: WebhookRequest, nowMs: number) => WebhookCheck {
  return ({ headers, rawBody, rawHeaders }, nowMs) => {
    const names = headerNames(headers);
    if (names === undefined) return fail('webhook_signature_invalid');
    const values = names.map((name) => readHeader(headers, name));
    if (values.some((value) => value === undefined || value === '')) return fail('webhook_signature_missing');
    const [id, timestamp, signature] = values;
    if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signature !== 'string')
      return fail('webhook_signature_invalid');
    if (repeatedHeader(rawHeaders, names) !== undefined) return fail('webhook_signature_invalid');
    if (!TIMESTAMP.test(timestamp) || Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds)
      return fail('webhook_timestamp_invalid');
    const body = rawBody ?? (declaresBody(headers) ? undefined : EMPTY);
    if (body === undefined) return { ...fail('webhook_signature_invalid'), rawBodyMissing: true };
    const expected = keys.map((key) => sign(key, id, timestamp, body));
    let matched = false;
    for (const presented of v1Signatures(signature)) {
      for (const candidate of expected) {
        // No early exit: the time taken does not depend on which signature or key matched.
        if (timingSafeEqual(presented, candidate)) matched = true;
      }
    }
    return matched ? { ok: true } : fail('webhook_signature_invalid');
  };
}
