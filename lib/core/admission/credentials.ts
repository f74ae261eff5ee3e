import { KeyringConfigError } from '../refusals/failure.js';
import { bearerCredential, checkHeaderName, readHeader, type RequestHeaders } from './headers.js';
import { fail, type Result } from '../result.js';

/** The header that carries `Bearer <key>`. Every other accepted header carries the bare key. */
export const AUTHORIZATION_HEADER = 'authorization';

/** The headers accepted by default, in the order they are read. */
// Frozen: exported defaults are shared by every Keyring of the process.
export const DEFAULT_KEY_HEADERS: readonly string[] = Object.freeze([AUTHORIZATION_HEADER, 'x-api-key']);

/** Checks the `headers` option at start-up. @throws KeyringConfigError */
export function resolveKeyHeaders(headers: readonly string[] | undefined): readonly string[] {
  if (headers === undefined) return DEFAULT_KEY_HEADERS;
  if (!Array.isArray(headers) || headers.length === 0) {
    throw new KeyringConfigError("`headers` must list at least one header name, e.g. ['authorization', 'x-api-key'].");
  }
  return [...new Set(headers.map((name, index) => checkHeaderName(name, `headers[${index}]`)))];
}

/**
 * Longest key we pass to a lookup. Real keys are far shorter (`pk_` + ~40 characters); the bound
 * keeps a 16 KiB header from reaching a database query or a hash.
 */
export const MAX_API_KEY_LENGTH = 256;

// RFC 6750 b64token (`1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`): the only
// characters a Bearer token may contain. Keys sent in X-API-KEY are held to the same alphabet,
// so a key means the same thing in either header. Read with a table rather than a regular
// expression: it runs on every request.
const TOKEN_CHARACTER = new Uint8Array(128);
for (const character of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/') {
  TOKEN_CHARACTER[character.charCodeAt(0)] = 1;
}
const EQUALS = 0x3d;

function isB64Token(value: string): boolean {
  let index = 0;
  while (index < value.length && TOKEN_CHARACTER[value.charCodeAt(index)] === 1) index++;
  if (index === 0) return false;
  while (index < value.length && value.charCodeAt(index) === EQUALS) index++;
  return index === value.length;
}

/** True when `value` is a string a lookup may safely receive as a key. */
export function isWellFormedKey(value: string): boolean {
  return isWithinLengthBound(value) && isB64Token(value);
}

/**
 * The length rule alone, for `Keyring`: it looks a key up in its cache first (a hash of the
 * key, never the key) and checks the alphabet only for a key the cache does not hold, since one
 * it holds passed it when it was stored.
 */
export function isWithinLengthBound(value: string): boolean {
  return value.length > 0 && value.length <= MAX_API_KEY_LENGTH;
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
 * @param isWellFormed the rule a credential must pass, or it is `malformed`
 */
export function extractApiKey(
  headers: RequestHeaders,
  acceptedHeaders: readonly string[],
  isWellFormed: (value: string) => boolean = isWellFormedKey,
): Result<{ key: string }> {
  let key: string | undefined;
  let sawOtherScheme = false;
  for (const name of acceptedHeaders) {
    const raw = readHeader(headers, name);
    if (raw === undefined) continue;
    if (typeof raw !== 'string') return fail('malformed');
    let candidate: string | null;
    if (name === AUTHORIZATION_HEADER) {
      // `Authorization: <scheme> <token>`, the scheme case-insensitive (RFC 9110 §11.1); a Bearer
      // credential is exactly one space and one b64token. Another scheme is left to the app.
      const credential = bearerCredential(raw);
      if (credential === undefined) {
        sawOtherScheme = true;
        continue;
      }
      candidate = credential !== null && isWellFormed(credential) ? credential : null;
    } else {
      candidate = isWellFormed(raw) ? raw : null;
    }
    if (candidate === null) return fail('malformed');
    if (key !== undefined && key !== candidate) return fail('malformed');
    key = candidate;
  }
  if (key !== undefined) return { ok: true, key };
  return fail(sawOtherScheme ? 'malformed' : 'missing');
}
