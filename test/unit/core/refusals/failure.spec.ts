import { describe, expect, it } from '@jest/globals';
import { generateApiKey } from '../../../../lib/core/keys/api-key-generator.js';
import { findRecord } from '../../../../lib/core/lookup/lookup.js';
import { redactedError } from '../../../../lib/core/refusals/failure.js';

const KEY = generateApiKey().key;
const RANDOM = KEY.slice(3, -6);

/** Every run of 8 characters of the key found in `text`, in any case. */
function fragments(text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i + 8 <= KEY.length; i++) {
    const piece = KEY.slice(i, i + 8).toLowerCase();
    if (text.toLowerCase().includes(piece)) found.push(piece);
  }
  return found;
}

describe('redactedError', () => {
  it.each([
    ['the whole key', `no row for ${KEY}`],
    ['the key without its prefix', `no row for ${KEY.slice(3)}`],
    ['the random part only', `where hash(${RANDOM}) = ?`],
    ['a 12-character fragment', `near "${RANDOM.slice(5, 17)}": syntax error`],
    ['an 8-character fragment', `value ${RANDOM.slice(20, 28)} too long`],
    ['the key upper-cased', `NO ROW FOR ${KEY.toUpperCase()}`],
    ['two fragments and the key twice', `${KEY} / ${RANDOM.slice(0, 9)} / ${KEY.slice(3)} / ${RANDOM.slice(-10)}`],
  ])('leaves no 8-character fragment of the key when the message quotes %s', (_, message) => {
    const error = new Error(message);
    error.name = 'StoreError';
    const redacted = redactedError(error, KEY);
    expect(fragments(`${redacted.name} ${redacted.message} ${redacted.stack}`)).toEqual([]);
    expect(redacted.message).toContain('[redacted]');
    expect(redacted.name).toBe('StoreError');
  });

  it('keeps what is not the key, and short runs that merely resemble it', () => {
    const message = `connection reset (${RANDOM.slice(0, 7)}) after 3000 ms`;
    expect(redactedError(new Error(message), KEY).message).toBe(message);
    expect(redactedError(new Error(`no row for ${KEY}.`), KEY).message).toBe('no row for [redacted].');
  });

  it('redacts a key shorter than a fragment whole, a thrown string, and the error name', () => {
    expect(redactedError(new Error('bad abc12 here'), 'abc12').message).toBe('bad [redacted] here');
    expect(redactedError(`oops ${KEY}`, KEY).message).toBe('oops [redacted]');
    const named = new Error('x');
    named.name = `Missing${RANDOM}`;
    expect(fragments(redactedError(named, KEY).name)).toEqual([]);
  });

  it('drops the stack and the cause chain, which may quote the key', () => {
    const error = new Error('lookup failed', { cause: new Error(`no row for ${KEY}`) });
    const redacted = redactedError(error, KEY);
    expect(redacted.cause).toBeUndefined();
    expect(redacted.stack).toBe('Error: lookup failed');
  });

  it('is what a failing lookup carries as its cause', async () => {
    const result = await findRecord(
      { findKey: async (key) => Promise.reject(new Error(`no row for ${key.slice(3)}`)) },
      KEY,
      1000,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.failure.reason).toBe('lookup_unavailable');
    expect((result.failure.cause as Error).message).toBe('no row for [redacted]');
  });
});
