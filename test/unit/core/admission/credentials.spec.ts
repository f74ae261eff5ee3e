import { describe, expect, it } from '@jest/globals';
import { extractApiKey, isWellFormedKey, MAX_API_KEY_LENGTH } from '../../../../lib/core/admission/credentials.js';

const BOTH = ['authorization', 'x-api-key'];
const KEY = 'pk_live_7f3a9c2e1b4d';

describe('extractApiKey', () => {
  it.each([
    ['Bearer', { authorization: `Bearer ${KEY}` }],
    ['bearer (lower-case scheme)', { authorization: `bearer ${KEY}` }],
    ['BEARER (upper-case scheme)', { authorization: `BEARER ${KEY}` }],
    ['BeArEr (mixed-case scheme)', { authorization: `BeArEr ${KEY}` }],
    ['X-API-KEY', { 'x-api-key': KEY }],
    ['both headers with the same key', { authorization: `Bearer ${KEY}`, 'x-api-key': KEY }],
    ['another scheme plus X-API-KEY', { authorization: 'Basic dXNlcjpwYXNz', 'x-api-key': KEY }],
    ['an empty Authorization plus X-API-KEY', { authorization: '', 'x-api-key': KEY }],
    ['a token with padding and RFC 6750 punctuation', { authorization: 'Bearer pk_a-b.c~d+e/f==' }],
  ])('reads the key from %s', (_, headers) => {
    expect(extractApiKey(headers, BOTH)).toEqual({ ok: true, key: expect.stringMatching(/^pk_/) });
    if (!('authorization' in headers && headers.authorization.includes('+'))) {
      expect(extractApiKey(headers, BOTH)).toEqual({ ok: true, key: KEY });
    }
  });

  it.each([
    ['no header', {}],
    ['headers that are not ours', { cookie: 'a=b', 'x-api-token': KEY }],
  ])('says missing for %s', (_, headers) => {
    expect(extractApiKey(headers, BOTH)).toEqual({ ok: false, failure: { reason: 'missing' } });
  });

  it.each([
    ['Bearer with no token', { authorization: 'Bearer' }],
    ['Bearer and a space', { authorization: 'Bearer ' }],
    ['two spaces after Bearer', { authorization: `Bearer  ${KEY}` }],
    ['a tab after Bearer', { authorization: `Bearer\t${KEY}` }],
    ['trailing space', { authorization: `Bearer ${KEY} ` }],
    ['two tokens', { authorization: `Bearer ${KEY} ${KEY}` }],
    ['Bearer glued to the key', { authorization: `Bearer${KEY}` }],
    ['a quote in the token', { authorization: 'Bearer pk_a"b' }],
    ['a semicolon in the token', { authorization: 'Bearer pk_a;b' }],
    ['a percent sign', { authorization: 'Bearer pk_a%20b' }],
    ['a backslash', { authorization: 'Bearer pk_a\\b' }],
    ['a comma', { authorization: 'Bearer pk_a,pk_b' }],
    ['non-ASCII', { authorization: 'Bearer pk_ключ' }],
    ['padding in the middle', { authorization: 'Bearer pk_a=b' }],
    ['only another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['the key with no scheme', { authorization: KEY }],
    ['an empty Authorization', { authorization: '' }],
    ['an empty X-API-KEY', { 'x-api-key': '' }],
    ['a whitespace X-API-KEY', { 'x-api-key': '   ' }],
    ['a repeated X-API-KEY joined by Node', { 'x-api-key': `${KEY}, ${KEY}` }],
    ['X-API-KEY as an array', { 'x-api-key': [KEY, KEY] }],
    ['X-API-KEY as a number', { 'x-api-key': 12345 }],
    ['Authorization as an array', { authorization: [`Bearer ${KEY}`] }],
    ['X-API-KEY of 16 KiB', { 'x-api-key': `pk_${'a'.repeat(16 * 1024)}` }],
    ['a key one past the length bound', { 'x-api-key': 'k'.repeat(MAX_API_KEY_LENGTH + 1) }],
    ['headers with different keys', { authorization: `Bearer ${KEY}`, 'x-api-key': `${KEY}x` }],
    ['a malformed Bearer beside a good X-API-KEY', { authorization: 'Bearer  x', 'x-api-key': KEY }],
  ])('says malformed for %s', (_, headers) => {
    expect(extractApiKey(headers as Record<string, unknown>, BOTH)).toEqual({
      ok: false,
      failure: { reason: 'malformed' },
    });
  });

  it('accepts a key exactly at the length bound', () => {
    const key = 'k'.repeat(MAX_API_KEY_LENGTH);
    expect(extractApiKey({ 'x-api-key': key }, BOTH)).toEqual({ ok: true, key });
  });

  it('treats undefined header values as absent', () => {
    expect(extractApiKey({ authorization: undefined, 'x-api-key': KEY }, BOTH)).toEqual({ ok: true, key: KEY });
  });

  it('ignores headers that are not accepted', () => {
    expect(extractApiKey({ 'x-api-key': KEY }, ['authorization'])).toEqual({
      ok: false,
      failure: { reason: 'missing' },
    });
    // With only X-API-KEY accepted, Authorization belongs to the application (e.g. a user's JWT).
    expect(extractApiKey({ authorization: 'Bearer a.b.c', 'x-api-key': KEY }, ['x-api-key'])).toEqual({
      ok: true,
      key: KEY,
    });
  });

  it('reads custom header names', () => {
    expect(extractApiKey({ 'api-key': KEY }, ['api-key'])).toEqual({ ok: true, key: KEY });
  });

  it('does not read inherited properties as headers', () => {
    const headers = Object.create({ 'x-api-key': KEY }) as Record<string, unknown>;
    expect(extractApiKey(headers, BOTH).ok).toBe(false);
  });
});

describe('isWellFormedKey', () => {
  // The RFC 6750 b64token grammar, as a regular expression: the table must agree with it.
  const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
  const ALPHABET = 'Az09-._~+/=é \t\n,;:"\'\\\u0000\u007f\u0080\u{1f511}';

  it('agrees with the b64token grammar on every string of up to 4 characters from a mixed alphabet', () => {
    const characters = [...ALPHABET];
    const check = (value: string) => expect([value, isWellFormedKey(value)]).toEqual([value, B64TOKEN.test(value)]);
    let level = [''];
    for (let length = 1; length <= 4; length++) {
      level = level.flatMap((prefix) => characters.map((character) => prefix + character));
      // 4 characters: every 29th string keeps the test fast and still covers every position.
      level.forEach((value, index) => (length < 4 || index % 29 === 0) && check(value));
    }
  });

  it('refuses a key past the length bound and an empty one', () => {
    expect(isWellFormedKey('a'.repeat(MAX_API_KEY_LENGTH))).toBe(true);
    expect(isWellFormedKey('a'.repeat(MAX_API_KEY_LENGTH + 1))).toBe(false);
    expect(isWellFormedKey('')).toBe(false);
    expect(isWellFormedKey('====')).toBe(false);
  });
});
