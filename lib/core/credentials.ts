import { bearerCredential, readHeader, type RequestHeaders } from './headers.js';
import { fail, type Result } from './result.js';

/** The header that carries `Bearer <key>`. Every other accepted header carries the bare key. */
export const AUTHORIZATION_HEADER = 'authorization';

/** The headers accepted by default, in the order they are read. */
// Frozen: exported defaults are shared by every Keyring of the process.
export const DEFAULT_KEY_HEADERS: readonly string[] = Object.freeze([AUTHORIZATION_HEADER, 'x-api-key']);

/**
 * Longest key we pass to a lookup. Real keys are far shorter (`pk_` + ~40 characters); the bound
 * keeps a 16 KiB header from reaching a database query or a hash.
 */
export const MAX_API_KEY_LENGTH = 256;

// RFC 6750 b64token: the only characters a Bearer token may contain. Keys sent in X-API-KEY are
// held to the same alphabet, so a key means the same thing in either header.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** The key a request presents, or why there is none. */
export type CredentialResult = Result<{ key: string }>;

type AuthorizationValue = { scheme: 'bearer'; key: string | null } | { scheme: 'other' };

/** True when `value` is a string a lookup may safely receive as a key. */
export function isWellFormedKey(value: string): boolean {
  return value.length > 0 && value.length <= MAX_API_KEY_LENGTH && B64TOKEN.test(value);
}

/**
 * Reads `Authorization: <scheme> <token>`. The scheme is case-insensitive (RFC 9110 §11.1); a
 * Bearer credential is exactly one space and one b64token. `key: null` marks a Bearer header
 * that is not in that form.
 */
function readAuthorization(value: string): AuthorizationValue {
  const credential = bearerCredential(value);
  if (credential === undefined) return { scheme: 'other' };
  return { scheme: 'bearer', key: credential !== null && isWellFormedKey(credential) ? credential : null };
}

/**
 * Finds the API key in the accepted headers, or says why there is none.
 *
 * - No accepted header present: `missing`.
 * - A present header that is empty, repeated (an array, or Node's `"a, b"` join), not a string,
 *   too long or outside the token alphabet: `malformed`. A Bearer header is never "absent" just
 *   because it is malformed.
 * - `Authorization` with another scheme (or an empty one) is left to the application: if another
 *   accepted header carries a key it is used, otherwise `malformed` (not in `Bearer <token>` form).
 * - Two headers carrying different keys: `malformed` (RFC 6750 §2: one method per request).
 *
 * @param headers lower-cased request headers
 * @param acceptedHeaders lower-cased header names to read, e.g. `['authorization', 'x-api-key']`
 */
export function extractApiKey(headers: RequestHeaders, acceptedHeaders: readonly string[]): CredentialResult {
  let key: string | undefined;
  let sawOtherScheme = false;
  for (const name of acceptedHeaders) {
    const raw = readHeader(headers, name);
    if (raw === undefined) continue;
    if (typeof raw !== 'string') return fail('malformed');
    let candidate: string | null;
    if (name === AUTHORIZATION_HEADER) {
      const authorization = readAuthorization(raw);
      if (authorization.scheme === 'other') {
        sawOtherScheme = true;
        continue;
      }
      candidate = authorization.key;
    } else {
      candidate = isWellFormedKey(raw) ? raw : null;
    }
    if (candidate === null) return fail('malformed');
    if (key !== undefined && key !== candidate) return fail('malformed');
    key = candidate;
  }
  if (key !== undefined) return { ok: true, key };
  return fail(sawOtherScheme ? 'malformed' : 'missing');
}
