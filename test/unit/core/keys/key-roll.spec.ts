import { describe, expect, it } from '@jest/globals';
import { parseApiKey } from '../../../../lib/core/keys/api-key-format.js';
import { hashApiKey } from '../../../../lib/core/keys/api-key-hash.js';
import type { ApiKeyRecord } from '../../../../lib/core/keys/api-key-record.js';
import { DEFAULT_ROLL_OVERLAP_MS, MAX_ROLL_OVERLAP_MS, planKeyRoll } from '../../../../lib/core/keys/key-roll.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const HOUR = 60 * 60 * 1000;
const record: ApiKeyRecord = {
  id: 'key_1',
  tenants: [{ id: 123, name: 'Acme' }, { id: 456 }],
  scopes: ['messages:send'],
  environment: 'staging',
  metadata: { owner: 'ops' },
};

describe('planKeyRoll', () => {
  it('plans a new key of the same environment for the same tenants and scopes, the old one ending after 24 h', () => {
    const plan = planKeyRoll(record, { now: NOW });
    expect(parseApiKey(plan.newKey.key)).toEqual({ environment: 'staging', prefix: 'sk_', checksumValid: true });
    expect(plan.newKey.hash).toBe(hashApiKey(plan.newKey.key));
    expect(plan.newRecord).toEqual({
      environment: 'staging',
      tenants: [{ id: 123, name: 'Acme' }, { id: 456 }],
      scopes: ['messages:send'],
      metadata: { owner: 'ops' },
      family: 'key_1',
    });
    expect(plan.oldRecordId).toBe('key_1');
    expect(plan.oldExpiresAt).toEqual(new Date(NOW + DEFAULT_ROLL_OVERLAP_MS));
    expect(DEFAULT_ROLL_OVERLAP_MS).toBe(24 * HOUR);
    // Copies: changing the plan does not change the old record.
    plan.newRecord.tenants!.push({ id: 789 });
    plan.newRecord.scopes!.push('keys:admin');
    expect(record.tenants).toHaveLength(2);
    expect(record.scopes).toEqual(['messages:send']);
  });

  it('carries over fields it does not know (e.g. a rate limit), never the id or revocation flag', () => {
    const withLimit = { ...record, rateLimit: { limit: 5, windowMs: 1000 }, revoked: false } as ApiKeyRecord;
    const { newRecord } = planKeyRoll(withLimit, { now: NOW });
    expect(newRecord).toMatchObject({ rateLimit: { limit: 5, windowMs: 1000 } });
    expect(Object.keys(newRecord)).not.toContain('id');
    expect(Object.keys(newRecord)).not.toContain('revoked');
  });

  it("keeps the family of a rolled key's line: rolling again never starts a new count", () => {
    const first = planKeyRoll({ ...record, id: 7 }, { now: NOW });
    expect(first.newRecord.family).toBe(7);
    const second = planKeyRoll({ ...first.newRecord, id: 8 }, { now: NOW });
    expect(second.newRecord.family).toBe(7);
    expect(planKeyRoll({ ...record, family: null }, { now: NOW }).newRecord.family).toBe('key_1');
  });

  it('accepts an overlap up to MAX_ROLL_OVERLAP_MS (365 days), which gives a real date', () => {
    expect(MAX_ROLL_OVERLAP_MS).toBe(365 * 24 * HOUR);
    expect(planKeyRoll(record, { now: NOW, overlapMs: MAX_ROLL_OVERLAP_MS }).oldExpiresAt).toEqual(
      new Date(NOW + MAX_ROLL_OVERLAP_MS),
    );
  });

  it.each([1e16, Number.MAX_SAFE_INTEGER, MAX_ROLL_OVERLAP_MS + 1, Number.NaN, -1, Infinity, '1h'])(
    'refuses an overlap of %p with a TypeError that names the bounds',
    (overlapMs) => {
      const attempt = () => planKeyRoll(record, { now: NOW, overlapMs: overlapMs as number });
      expect(attempt).toThrow(TypeError);
      expect(attempt).toThrow(
        'nest-keyring: `overlapMs` must be a number of milliseconds, 0 or more, ' +
          `and at most 31536000000; got ${String(overlapMs)}.`,
      );
    },
  );

  it('refuses a time of roll whose end no Date can hold, rather than an Invalid Date', () => {
    expect(() => planKeyRoll(record, { now: 8.64e15 - HOUR, overlapMs: 24 * HOUR })).toThrow(TypeError);
    expect(() => planKeyRoll(record, { now: Number.NaN })).toThrow(/`now` is not a valid time/);
  });

  it('gives a fresh key each time, hashed with the pepper given', () => {
    const first = planKeyRoll(record, { now: NOW, pepper: 'p' });
    const second = planKeyRoll(record, { now: NOW, pepper: 'p' });
    expect(first.newKey.key).not.toBe(second.newKey.key);
    expect(first.newKey.hash).toBe(hashApiKey(first.newKey.key, { pepper: 'p' }));
  });

  it('never extends an earlier expiry, and the new key keeps it', () => {
    const soon = new Date(NOW + HOUR).toISOString();
    const plan = planKeyRoll({ ...record, expiresAt: soon }, { now: NOW, overlapMs: 24 * HOUR });
    expect(plan.oldExpiresAt).toEqual(new Date(soon));
    expect(plan.newRecord.expiresAt).toEqual(new Date(soon));

    const later = NOW + 48 * HOUR;
    const overlapped = planKeyRoll({ ...record, expiresAt: later }, { now: new Date(NOW), overlapMs: HOUR });
    expect(overlapped.oldExpiresAt).toEqual(new Date(NOW + HOUR));
    expect(overlapped.newRecord.expiresAt).toEqual(new Date(later));
  });

  it('ends the old key at once with a zero overlap', () => {
    expect(planKeyRoll(record, { now: NOW, overlapMs: 0 }).oldExpiresAt).toEqual(new Date(NOW));
  });

  it('takes the environment from the options for a record without one, with custom prefixes', () => {
    const { environment: _, ...bare } = record;
    const plan = planKeyRoll(bare, { now: NOW, environment: 'live', prefixes: { live: 'live_' } });
    expect(plan.newKey.key.startsWith('live_')).toBe(true);
    expect(plan.newRecord.environment).toBe('live');
  });

  it.each<[string, ApiKeyRecord, object, RegExp]>([
    ['a revoked key', { ...record, revoked: true }, {}, /key_1 is revoked/],
    ['an expired key', { ...record, expiresAt: NOW - 1 }, {}, /key_1 has expired/],
    ['an unreadable expiry', { ...record, expiresAt: 'soon' }, {}, /key_1 has expired/],
    ['no environment', { id: 'key_2' }, {}, /key_2 states no environment/],
    ['an unknown environment', record, { environment: 'qa' }, /no prefix for environment "qa"/],
  ])('refuses %s', (_, old, options, message) => {
    expect(() => planKeyRoll(old, { now: NOW, ...options })).toThrow(message);
  });
});
