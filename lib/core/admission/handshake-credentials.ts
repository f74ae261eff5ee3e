import { AUTHORIZATION_HEADER } from './credentials.js';
import { readHeader, type RequestHeaders } from './headers.js';
import { fail, type Result } from '../result.js';

/**
 * The headers a handshake stands for: its own, with the auth payload's `token` and `tenant`
 * (what a socket.io client may send, `io(url, { auth })`, since browsers cannot set headers on a
 * WebSocket: `token` the bare key, as in `X-API-KEY`; `tenant` the tenant id) written as the
 * headers a REST client would send (`Authorization: Bearer <token>`, or the first
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
  names: { readonly headers: readonly string[]; readonly tenantHeader: string },
): Result<{ headers: RequestHeaders }> {
  if (typeof auth !== 'object' || auth === null) return { ok: true, headers };
  // Own fields only, as for headers: a polluted `Object.prototype` must never supply a key or a tenant.
  const token = Object.hasOwn(auth, 'token') ? (auth as { token?: unknown }).token : undefined;
  const tenant = Object.hasOwn(auth, 'tenant') ? (auth as { tenant?: unknown }).tenant : undefined;
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
