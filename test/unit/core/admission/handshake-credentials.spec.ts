import { describe, expect, it } from '@jest/globals';
import { handshakeHeaders } from '../../../../lib/core/admission/handshake-credentials.js';

const NAMES = { headers: ['authorization', 'x-api-key'], tenantHeader: 'x-tenant-id' };

describe('handshakeHeaders', () => {
  it('keeps the headers as they are without an auth payload', () => {
    const headers = { 'x-api-key': 'pk_a' };
    for (const auth of [undefined, null, 'pk_a', 42, {}]) {
      expect(handshakeHeaders(headers, auth, NAMES)).toEqual({ ok: true, headers });
    }
  });

  it('writes token as Authorization: Bearer, and tenant as the tenant header', () => {
    expect(handshakeHeaders({ host: 'x' }, { token: 'pk_a', tenant: 456 }, NAMES)).toEqual({
      ok: true,
      headers: { host: 'x', authorization: 'Bearer pk_a', 'x-tenant-id': '456' },
    });
  });

  it('writes token as the first accepted header when Authorization is not one', () => {
    expect(handshakeHeaders({}, { token: 'pk_a' }, { headers: ['x-key'], tenantHeader: 'x-org' })).toEqual({
      ok: true,
      headers: { 'x-key': 'pk_a' },
    });
  });

  it('accepts a payload and a header that agree', () => {
    const headers = { authorization: 'Bearer pk_a', 'x-tenant-id': '456' };
    expect(handshakeHeaders(headers, { token: 'pk_a', tenant: '456' }, NAMES)).toEqual({ ok: true, headers });
  });

  it.each([
    ['another key in Authorization', { authorization: 'Bearer pk_b' }, { token: 'pk_a' }],
    ['another scheme in Authorization', { authorization: 'Basic dXNlcg==' }, { token: 'pk_a' }],
    ['another tenant in the header', { 'x-tenant-id': '1' }, { token: 'pk_a', tenant: '2' }],
    ['a token that is not a string', {}, { token: 42 }],
    ['a token that is an object', {}, { token: { toString: () => 'pk_a' } }],
    ['a tenant that is an object', {}, { token: 'pk_a', tenant: { id: 1 } }],
    ['a tenant that is not a finite number', {}, { token: 'pk_a', tenant: Number.NaN }],
  ])('refuses %s as malformed', (_, headers, auth) => {
    expect(handshakeHeaders(headers, auth, NAMES)).toEqual({ ok: false, failure: { reason: 'malformed' } });
  });

  it('never reads a payload field from the prototype', () => {
    const auth = Object.create({ token: 'pk_inherited' }) as object;
    expect(handshakeHeaders({}, auth, NAMES)).toEqual({ ok: true, headers: {} });
  });
});
