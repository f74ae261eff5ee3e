import { AUTHORIZATION_HEADER } from './credentials.js';
import { readHeader, type RequestHeaders } from './headers.js';
import { fail, type Result } from './result.js';

/**
 * What a socket.io client may send in its handshake's auth payload (`io(url, { auth })`),
 * besides or instead of headers, which browsers cannot set on a WebSocket:
 * `token` is the bare key (as in `X-API-KEY`, without `Bearer `), `tenant` the tenant id (as in
 * `X-TENANT-ID`).
 */
export interface HandshakeAuth {
  token?: unknown;
  tenant?: unknown;
}

/** Where the handshake's credentials are read from, as the `Keyring`'s options name them. */
export interface HandshakeHeaderNames {
  /** The accepted key headers, lower-cased (`KeyringOptions.headers`). */
  headers: readonly string[];
  /** The tenant header, lower-cased (`KeyringOptions.tenantHeader`). */
  tenantHeader: string;
}

/**
 * The headers a handshake stands for: its own, with the auth payload's `token` and `tenant`
 * written as the headers a REST client would send (`Authorization: Bearer <token>`, or the first
 * accepted header when `authorization` is not one; the tenant header), so that one set of rules
 * (`Keyring.admit`) judges both transports.
 *
 * A payload field that disagrees with the header of the same meaning is refused as `malformed`,
 * as two disagreeing headers are on HTTP: one credential per connection, never a guess. A field
 * of the wrong type (a number as `token`, an object as `tenant`) is refused the same way.
 */
export function handshakeHeaders(
  headers: RequestHeaders,
  auth: unknown,
  names: HandshakeHeaderNames,
): Result<{ headers: RequestHeaders }> {
  if (typeof auth !== 'object' || auth === null) return { ok: true, headers };
  // Own fields only, as for headers: a polluted `Object.prototype` must never supply a key or a tenant.
  const token = Object.hasOwn(auth, 'token') ? (auth as HandshakeAuth).token : undefined;
  const tenant = Object.hasOwn(auth, 'tenant') ? (auth as HandshakeAuth).tenant : undefined;
  if (token === undefined && tenant === undefined) return { ok: true, headers };
  const merged: Record<string, unknown> = { ...headers };
  if (token !== undefined) {
    if (typeof token !== 'string') return fail('malformed');
    const header = names.headers.includes(AUTHORIZATION_HEADER) ? AUTHORIZATION_HEADER : names.headers[0];
    if (header === undefined) return fail('malformed');
    const value = header === AUTHORIZATION_HEADER ? `Bearer ${token}` : token;
    if (!agrees(headers, header, value)) return fail('malformed');
    merged[header] = value;
  }
  if (tenant !== undefined) {
    if (typeof tenant !== 'string' && !(typeof tenant === 'number' && Number.isFinite(tenant)))
      return fail('malformed');
    const value = String(tenant);
    if (!agrees(headers, names.tenantHeader, value)) return fail('malformed');
    merged[names.tenantHeader] = value;
  }
  return { ok: true, headers: merged };
}

/** True when the handshake has no `name` header, or one equal to `value`. */
function agrees(headers: RequestHeaders, name: string, value: string): boolean {
  const present = readHeader(headers, name);
  return present === undefined || present === value;
}
