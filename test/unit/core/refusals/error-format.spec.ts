import { describe, expect, it } from '@jest/globals';
import { DEFAULT_KEY_HEADERS } from '../../../../lib/core/admission/credentials.js';
import {
  createErrorResponder,
  ERROR_PRESETS,
  resolveErrorFormat,
  summarizeRefusal,
} from '../../../../lib/core/refusals/error-format.js';
import type { FailureReason } from '../../../../lib/core/refusals/failure.js';

const cases: [FailureReason, number, string, string, string | undefined][] = [
  ['missing', 401, 'AUTHENTICATION_REQUIRED', 'AUTH_002', 'Bearer realm="api"'],
  ['malformed', 401, 'INVALID_API_KEY', 'AUTH_003', 'Bearer realm="api", error="invalid_request"'],
  ['invalid', 401, 'INVALID_API_KEY', 'AUTH_001', 'Bearer realm="api", error="invalid_token"'],
  ['expired', 401, 'INVALID_API_KEY', 'AUTH_001', 'Bearer realm="api", error="invalid_token"'],
  ['revoked', 401, 'INVALID_API_KEY', 'AUTH_001', 'Bearer realm="api", error="invalid_token"'],
  ['wrong_environment', 401, 'INVALID_API_KEY', 'AUTH_001', 'Bearer realm="api", error="invalid_token"'],
  ['no_tenant', 403, 'API_KEY_NO_TENANT', 'API_KEY_NO_TENANT', undefined],
  ['tenant_not_found', 403, 'TENANT_NOT_FOUND', 'TENANT_NOT_FOUND', undefined],
  ['lookup_unavailable', 503, 'KEY_STORE_UNAVAILABLE', 'KEY_STORE_UNAVAILABLE', undefined],
  ['webhook_secret_missing', 401, 'WEBHOOK_SECRET_REQUIRED', 'WEBHOOK_SECRET_REQUIRED', 'Bearer realm="api"'],
  [
    'webhook_secret_malformed',
    401,
    'INVALID_WEBHOOK_SECRET',
    'INVALID_WEBHOOK_SECRET',
    'Bearer realm="api", error="invalid_request"',
  ],
  [
    'webhook_secret_invalid',
    401,
    'INVALID_WEBHOOK_SECRET',
    'INVALID_WEBHOOK_SECRET',
    'Bearer realm="api", error="invalid_token"',
  ],
  // Standard Webhooks is no HTTP authentication scheme: its 401s name it, as RFC 9110 asks of every 401.
  [
    'webhook_signature_missing',
    401,
    'WEBHOOK_SIGNATURE_REQUIRED',
    'WEBHOOK_SIGNATURE_REQUIRED',
    'Webhook-Signature realm="api"',
  ],
  [
    'webhook_signature_invalid',
    401,
    'INVALID_WEBHOOK_SIGNATURE',
    'INVALID_WEBHOOK_SIGNATURE',
    'Webhook-Signature realm="api"',
  ],
  [
    'webhook_timestamp_invalid',
    401,
    'INVALID_WEBHOOK_TIMESTAMP',
    'INVALID_WEBHOOK_TIMESTAMP',
    'Webhook-Signature realm="api"',
  ],
];

describe('error presets', () => {
  it.each(cases)('%s: %i, %s / %s', (reason, status, cubeconnect, connexease, challenge) => {
    for (const [format, code] of [
      ['cubeconnect', cubeconnect],
      ['connexease', connexease],
    ] as const) {
      const response = createErrorResponder(format)({ reason });
      expect(response.status).toBe(status);
      expect(response.body).toEqual({ success: false, error: { code, message: expect.any(String) } });
      expect(response.headers['WWW-Authenticate']).toBe(challenge);
    }
  });

  it("uses the two vocabularies' messages", () => {
    const respond = createErrorResponder('cubeconnect');
    expect(respond({ reason: 'invalid' }).body).toEqual({
      success: false,
      error: { code: 'INVALID_API_KEY', message: 'Invalid API key.' },
    });
    expect(respond({ reason: 'tenant_not_found' }).body).toEqual({
      success: false,
      error: { code: 'TENANT_NOT_FOUND', message: 'Tenant not found for this API key.' },
    });
  });

  it('tells the sender of a webhook what the Bearer form is', () => {
    expect(createErrorResponder('connexease')({ reason: 'webhook_secret_malformed' }).body).toEqual({
      success: false,
      error: {
        code: 'INVALID_WEBHOOK_SECRET',
        message: 'Authorization header must be in the form "Bearer <webhook secret>".',
      },
    });
  });

  it('checks an errorFormat option', () => {
    expect(resolveErrorFormat(undefined)).toBe('cubeconnect');
    expect(resolveErrorFormat('connexease')).toBe('connexease');
    const custom = () => ({ status: 401, body: {} });
    expect(resolveErrorFormat(custom)).toBe(custom);
    expect(() => resolveErrorFormat('stripe')).toThrow(
      "nest-keyring: `errorFormat` must be 'cubeconnect', 'connexease' or a function; got \"stripe\".",
    );
  });

  it('challenges with what the app reads: ApiKey and the header when Authorization is not among the headers', () => {
    const only = createErrorResponder('cubeconnect', 'api', ['x-api-key']);
    expect(only({ reason: 'missing' }).headers['WWW-Authenticate']).toBe('ApiKey realm="api", header="x-api-key"');
    expect(only({ reason: 'malformed' }).headers['WWW-Authenticate']).toBe(
      'ApiKey realm="api", header="x-api-key", error="invalid_request"',
    );
    expect(only({ reason: 'revoked' }).headers['WWW-Authenticate']).toBe(
      'ApiKey realm="api", header="x-api-key", error="invalid_token"',
    );
    expect(only({ reason: 'insufficient_scope', requiredScopes: ['a', 'b'] }).headers['WWW-Authenticate']).toBe(
      'ApiKey realm="api", header="x-api-key", error="insufficient_scope", scope="a b"',
    );
    // A webhook secret is always read from Authorization; a signature has its own scheme.
    expect(only({ reason: 'webhook_secret_missing' }).headers['WWW-Authenticate']).toBe('Bearer realm="api"');
    expect(only({ reason: 'webhook_signature_invalid' }).headers['WWW-Authenticate']).toBe(
      'Webhook-Signature realm="api"',
    );
    expect(
      createErrorResponder('cubeconnect', 'keys', ['x-api-key', 'x-key'])({ reason: 'missing' }).headers[
        'WWW-Authenticate'
      ],
    ).toBe('ApiKey realm="keys", header="x-api-key", ApiKey realm="keys", header="x-key"');
    for (const headers of [DEFAULT_KEY_HEADERS, ['x-api-key', 'authorization'], ['authorization']]) {
      expect(
        createErrorResponder('cubeconnect', 'api', headers)({ reason: 'missing' }).headers['WWW-Authenticate'],
      ).toBe('Bearer realm="api"');
    }
  });

  it('names the missing scopes in the 403 challenge', () => {
    const response = createErrorResponder('cubeconnect')({
      reason: 'insufficient_scope',
      requiredScopes: ['messages:send', 'admin'],
    });
    expect(response.status).toBe(403);
    expect(response.headers['WWW-Authenticate']).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="messages:send admin"',
    );
  });

  it('passes a custom formatter the failure and adds the challenge to its 401s', () => {
    const respond = createErrorResponder((failure) => ({
      status: failure.reason === 'missing' ? 401 : 400,
      body: { why: failure.reason },
    }));
    expect(respond({ reason: 'missing' })).toEqual({
      status: 401,
      body: { why: 'missing' },
      headers: { 'WWW-Authenticate': 'Bearer realm="api"' },
    });
    expect(respond({ reason: 'invalid' })).toEqual({ status: 400, body: { why: 'invalid' }, headers: {} });
  });
});

describe('custom error formats', () => {
  it.each([200, 302, 399, 600, 401.5, Number.NaN])('never let a refusal go out as status %p', (status) => {
    const respond = createErrorResponder(() => ({ status, body: {} }));
    expect(() => respond({ reason: 'invalid' })).toThrow(/a refusal needs a status from 400 to 599/);
  });
});

describe('exported defaults', () => {
  it('cannot be changed by one app for every other', () => {
    expect(Object.isFrozen(ERROR_PRESETS.cubeconnect.invalid)).toBe(true);
    expect(() => ((ERROR_PRESETS.cubeconnect.invalid as { status: number }).status = 200)).toThrow(TypeError);
    expect(() => (DEFAULT_KEY_HEADERS as string[]).push('x-other')).toThrow(TypeError);
  });
});

describe('summarizeRefusal', () => {
  it("reads the presets' code and message", () => {
    const cubeconnect = createErrorResponder('cubeconnect')({ reason: 'tenant_not_found' });
    expect(summarizeRefusal({ reason: 'tenant_not_found' }, cubeconnect.body)).toEqual({
      code: 'TENANT_NOT_FOUND',
      message: 'Tenant not found for this API key.',
    });
    const connexease = createErrorResponder('connexease')({ reason: 'missing' });
    expect(summarizeRefusal({ reason: 'missing' }, connexease.body)).toEqual({
      code: 'AUTH_002',
      message: 'Authorization header is missing.',
    });
  });

  it("reads a custom format's top-level code and message", () => {
    expect(summarizeRefusal({ reason: 'invalid' }, { code: 'BAD_KEY', message: 'No.' })).toEqual({
      code: 'BAD_KEY',
      message: 'No.',
    });
  });

  it('falls back to the reason, upper-cased, for a body without a code', () => {
    expect(summarizeRefusal({ reason: 'insufficient_scope' }, { detail: 'x', error: { code: 42 } })).toEqual({
      code: 'INSUFFICIENT_SCOPE',
      message: 'Request refused.',
    });
  });
});
