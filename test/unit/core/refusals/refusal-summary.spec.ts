import { describe, expect, it } from '@jest/globals';
import { createErrorResponder } from '../../../../lib/core/refusals/error-format.js';
import { summarizeRefusal } from '../../../../lib/core/refusals/refusal-summary.js';

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
