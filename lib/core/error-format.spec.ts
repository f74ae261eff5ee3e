import { describe, expect, it } from '@jest/globals';
import { createErrorResponder } from './error-format.js';
import type { FailureReason } from './failure.js';

const cases: [FailureReason, number, string, string, string | undefined][] = [
  ['missing', 401, 'AUTHENTICATION_REQUIRED', 'AUTH_002', 'Bearer'],
  ['malformed', 401, 'INVALID_API_KEY', 'AUTH_003', 'Bearer error="invalid_request"'],
  ['invalid', 401, 'INVALID_API_KEY', 'AUTH_001', 'Bearer error="invalid_token"'],
  ['expired', 401, 'INVALID_API_KEY', 'AUTH_001', 'Bearer error="invalid_token"'],
  ['revoked', 401, 'INVALID_API_KEY', 'AUTH_001', 'Bearer error="invalid_token"'],
  ['wrong_environment', 401, 'INVALID_API_KEY', 'AUTH_001', 'Bearer error="invalid_token"'],
  ['no_tenant', 403, 'API_KEY_NO_TENANT', 'API_KEY_NO_TENANT', undefined],
  ['tenant_not_found', 403, 'TENANT_NOT_FOUND', 'TENANT_NOT_FOUND', undefined],
  ['lookup_unavailable', 503, 'KEY_STORE_UNAVAILABLE', 'KEY_STORE_UNAVAILABLE', undefined],
];

describe('error presets', () => {
  it.each(cases)('%s: %i, %s / %s', (reason, status, cubeconnect, connexease, challenge) => {
    for (const [format, code] of [['cubeconnect', cubeconnect], ['connexease', connexease]] as const) {
      const response = createErrorResponder(format)({ reason });
      expect(response.status).toBe(status);
      expect(response.body).toEqual({ success: false, error: { code, message: expect.any(String) } });
      expect(response.headers['WWW-Authenticate']).toBe(challenge);
    }
  });

  it('uses the seed documents\' messages', () => {
    const respond = createErrorResponder('cubeconnect');
    expect(respond({ reason: 'invalid' }).body).toEqual({ success: false, error: { code: 'INVALID_API_KEY', message: 'Invalid API key.' } });
    expect(respond({ reason: 'tenant_not_found' }).body).toEqual({
      success: false,
      error: { code: 'TENANT_NOT_FOUND', message: 'Tenant not found for this API key.' },
    });
  });

  it('names the missing scopes in the 403 challenge', () => {
    const response = createErrorResponder('cubeconnect')({ reason: 'insufficient_scope', requiredScopes: ['messages:send', 'admin'] });
    expect(response.status).toBe(403);
    expect(response.headers['WWW-Authenticate']).toBe('Bearer error="insufficient_scope", scope="messages:send admin"');
  });

  it('passes a custom formatter the failure and adds the challenge to its 401s', () => {
    const respond = createErrorResponder((failure) => ({ status: failure.reason === 'missing' ? 401 : 400, body: { why: failure.reason } }));
    expect(respond({ reason: 'missing' })).toEqual({ status: 401, body: { why: 'missing' }, headers: { 'WWW-Authenticate': 'Bearer' } });
    expect(respond({ reason: 'invalid' })).toEqual({ status: 400, body: { why: 'invalid' }, headers: {} });
  });
});
