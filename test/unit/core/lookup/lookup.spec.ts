import { describe, expect, it } from '@jest/globals';
import { findRecord } from '../../../../lib/core/lookup/lookup.js';

const KEY = 'pk_secret_123';

describe('findRecord', () => {
  it('returns what the lookup returned', async () => {
    expect(await findRecord({ findKey: async () => ({ id: 1 }) }, KEY, 1000)).toEqual({ ok: true, value: { id: 1 } });
    expect(await findRecord({ findKey: async () => null }, KEY, 1000)).toEqual({ ok: true, value: null });
  });

  it.each([
    ['rejects', { findKey: async () => Promise.reject(new Error(`no row for ${KEY}`)) }],
    [
      'throws synchronously',
      {
        findKey: () => {
          throw new Error(`bad key ${KEY}!`);
        },
      },
    ],
    [
      'throws a string',
      {
        findKey: async () => {
          throw `oops ${KEY}`;
        },
      },
    ],
  ])('answers lookup_unavailable when the lookup %s, with the key redacted from the cause', async (_, lookup) => {
    const result = await findRecord(lookup as never, KEY, 1000);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.failure.reason).toBe('lookup_unavailable');
    const cause = result.failure.cause as Error;
    expect(`${cause.message} ${cause.stack}`).not.toContain(KEY);
    expect(cause.message).toContain('[redacted]');
  });

  it('answers lookup_unavailable when the lookup does not answer in time', async () => {
    const result = await findRecord({ findKey: () => new Promise(() => undefined) }, KEY, 20);
    expect(result).toEqual({ ok: false, failure: { reason: 'lookup_unavailable', cause: expect.any(Error) } });
    if (!result.ok) expect((result.failure.cause as Error).name).toBe('LookupTimeoutError');
  });
});
