import { describe, expect, it } from '@jest/globals';
import {
  isContradictory,
  requiresApiKey,
  type AccessDeclarations,
} from '../../../../lib/core/admission/route-access.js';

const NOTHING: AccessDeclarations = { public: false, apiKey: false, webhook: false };
const PUBLIC = { ...NOTHING, public: true };
const API_KEY = { ...NOTHING, apiKey: true };
const WEBHOOK = { ...NOTHING, webhook: true };

describe('requiresApiKey: the nearest declaration wins', () => {
  it.each([
    ['a route with its own auth in a @Public() controller', API_KEY, PUBLIC, true],
    ['a @Public() route in a protected controller', PUBLIC, API_KEY, false],
    ['a route that says nothing in a @Public() controller', NOTHING, PUBLIC, false],
    ['a route that says nothing in a protected controller', NOTHING, API_KEY, true],
    ['a route where nothing is declared (the guard runs app-wide)', NOTHING, NOTHING, true],
    ['a webhook route (checked by its secret) under the app-wide guard', WEBHOOK, NOTHING, false],
    ['a webhook route in a protected controller', WEBHOOK, API_KEY, false],
    ['a webhook route that also asks for an API key', { ...WEBHOOK, apiKey: true }, NOTHING, true],
    ['a route in a webhook controller', NOTHING, WEBHOOK, false],
    ['a contradictory route (refused at start-up)', { ...PUBLIC, apiKey: true }, NOTHING, true],
  ])('%s: key required = %s', (_, route, controller, required) => {
    expect(requiresApiKey(route, controller)).toBe(required);
  });

  it('calls @Public() with API-key auth on one level a contradiction, and nothing else', () => {
    expect(isContradictory({ ...PUBLIC, apiKey: true })).toBe(true);
    expect(isContradictory({ ...PUBLIC, webhook: true })).toBe(false);
    expect(isContradictory(API_KEY)).toBe(false);
  });
});
