import { describe, expect, it } from '@jest/globals';
import { checkExpiry, judgeAnswer } from '../../../../lib/core/keys/record-check.js';

/** What a lookup's answer grants now: judged, then checked against the time. */
const checkRecord = (value: unknown, keyEnvironment: string | undefined, now: number) =>
  checkExpiry(judgeAnswer(value, keyEnvironment), now);

const NOW = Date.parse('2026-11-23T12:00:00Z');

describe('checkRecord', () => {
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['an empty object', {}],
    ['a record without id', { tenants: [] }],
    ['an empty string id', { id: '' }],
    ['a NaN id', { id: Number.NaN }],
    ['an object id', { id: { toString: () => 'x' } }],
    ['an array', [{ id: 1 }]],
    ['a string', 'key-1'],
    ['true', true],
    ['tenants that are not a list', { id: 1, tenants: { id: 1 } }],
    ['scopes that are not strings', { id: 1, scopes: [1] }],
    ['scopes given as one string', { id: 1, scopes: 'admin' }],
  ])('treats %s as an unknown key', (_, value) => {
    expect(checkRecord(value, undefined, NOW)).toEqual({ ok: false, failure: { reason: 'invalid' } });
  });

  it.each([
    ['a Date in the past', new Date(NOW - 1)],
    ['exactly now', new Date(NOW)],
    ['an ISO string in the past', '2026-11-23T11:59:59Z'],
    ['epoch milliseconds in the past', NOW - 1000],
    ['an unreadable string', 'tomorrow'],
    ['an invalid Date', new Date('nope')],
    ['a boolean', true],
  ])('refuses an expiry of %s', (_, expiresAt) => {
    expect(checkRecord({ id: 1, expiresAt }, undefined, NOW)).toEqual({ ok: false, failure: { reason: 'expired' } });
  });

  it.each([
    ['a Date in the future', new Date(NOW + 1)],
    ['an ISO string in the future', '2026-11-24T00:00:00Z'],
    ['null', null],
    ['undefined', undefined],
  ])('grants with an expiry of %s', (_, expiresAt) => {
    expect(checkRecord({ id: 1, expiresAt }, undefined, NOW).ok).toBe(true);
  });

  it('refuses a revoked record before looking at its expiry', () => {
    expect(checkRecord({ id: 1, revoked: true, expiresAt: new Date(NOW - 1) }, undefined, NOW)).toEqual({
      ok: false,
      failure: { reason: 'revoked' },
    });
  });

  it('refuses a record whose environment disagrees with the key prefix', () => {
    expect(checkRecord({ id: 1, environment: 'staging' }, 'production', NOW)).toEqual({
      ok: false,
      failure: { reason: 'wrong_environment' },
    });
    expect(checkRecord({ id: 1, environment: 'production' }, 'production', NOW).ok).toBe(true);
    expect(checkRecord({ id: 1 }, 'production', NOW).ok).toBe(true);
  });

  it('returns the record itself', () => {
    const record = { id: 'k', tenants: [{ id: 1 }], scopes: ['a'] };
    expect(checkRecord(record, undefined, NOW)).toEqual({ ok: true, record });
  });
});
