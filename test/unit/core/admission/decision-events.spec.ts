import { describe, expect, it } from '@jest/globals';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  decisionStarted,
  KEYRING_CHANNELS,
  lookupStarted,
  NOT_OBSERVED,
  publishAdmitted,
  publishRefused,
  webhookCheckStarted,
} from '../../../../lib/core/admission/decision-events.js';

describe('decision events', () => {
  const request = { method: 'GET', url: '/messages?api_key=pk_secret' };
  const responder = {
    errorResponse: () => ({ status: 401, body: { success: false, error: { code: 'X', message: 'm' } }, headers: {} }),
  };

  it('reads no clock and builds nothing while nobody subscribes', () => {
    expect(decisionStarted()).toBe(NOT_OBSERVED);
    expect(webhookCheckStarted()).toBe(NOT_OBSERVED);
    expect(lookupStarted()).toBe(NOT_OBSERVED);
    let asked = 0;
    publishRefused(0, request, { reason: 'missing' }, { errorResponse: () => (asked++, responder.errorResponse()) });
    expect(asked).toBe(0);
  });

  it('publishes nothing for a check that started before anyone subscribed', () => {
    const seen: unknown[] = [];
    const listener = (message: unknown) => seen.push(message);
    const started = decisionStarted();
    subscribe(KEYRING_CHANNELS.admitted, listener);
    try {
      publishAdmitted(started, request, { id: 1, tenants: [] });
      expect(seen).toEqual([]);
      publishAdmitted(decisionStarted(), request, { id: 1, tenants: [] }, { id: 2 });
      expect(seen).toEqual([
        { keyId: '1', tenantId: '2', method: 'GET', route: '/messages', durationMs: expect.any(Number) },
      ]);
    } finally {
      unsubscribe(KEYRING_CHANNELS.admitted, listener);
    }
  });

  it("publishes a store fault's error name only, never its message", () => {
    const seen: unknown[] = [];
    const listener = (message: unknown) => seen.push(message);
    subscribe(KEYRING_CHANNELS.storeFault, listener);
    try {
      const cause = new Error('connection to postgres://user:password@db failed');
      publishRefused(decisionStarted(), request, { reason: 'lookup_unavailable', cause }, responder);
      expect(seen).toEqual([
        {
          reason: 'lookup_unavailable',
          status: 401,
          errorName: 'Error',
          timedOut: false,
          method: 'GET',
          route: '/messages',
          durationMs: expect.any(Number),
        },
      ]);
    } finally {
      unsubscribe(KEYRING_CHANNELS.storeFault, listener);
    }
  });
});
