import { describe, expect, it } from '@jest/globals';
import { createHmac, randomBytes } from 'node:crypto';
import { checksumOf, hasValidChecksum, randomBase62, toBase62 } from '../../../../lib/core/keys/api-key-checksum.js';
import { parseApiKey } from '../../../../lib/core/keys/api-key-format.js';
import { generateApiKey } from '../../../../lib/core/keys/api-key-generator.js';
import type { ApiKeyRecord } from '../../../../lib/core/keys/api-key-record.js';
import { isWellFormedKey } from '../../../../lib/core/admission/credentials.js';
import { planKeyRoll } from '../../../../lib/core/keys/key-roll.js';
import { isPending } from '../../../../lib/core/maybe-async.js';
import { createSignatureCheck, keySigner, SIGNATURE_LENGTH } from '../../../../lib/core/keys/key-signature.js';
import { Keyring, type AuthenticationResult } from '../../../../lib/core/keyring.js';

const OLD_SECRET = 'old-signing-secret-0123456789abcdefghij';
const NEW_SECRET = 'new-signing-secret-0123456789abcdefghij';

/** `key` with its tag replaced and its checksum made valid again: what anyone can mint. */
function forge(key: string, tag = 'A'.repeat(SIGNATURE_LENGTH)): string {
  const body = key.slice(0, -(SIGNATURE_LENGTH + 6)) + tag;
  return body + checksumOf(body);
}

/** A key in the signed form with a made-up tag and a valid checksum, as anyone can make one. */
function mint(): string {
  const body = `pk_${randomBase62(32, randomBytes)}_${randomBase62(SIGNATURE_LENGTH, randomBytes)}`;
  return body + checksumOf(body);
}

function countingKeyring(keys: string[], options: Partial<ConstructorParameters<typeof Keyring>[0]> = {}) {
  const calls: string[] = [];
  const records = new Map<string, ApiKeyRecord>(keys.map((key, index) => [key, { id: `key_${index}`, tenants: [] }]));
  const keyring = new Keyring({
    lookup: {
      findKey: async (key) => {
        calls.push(key);
        return records.get(key) ?? null;
      },
    },
    tenancy: false,
    ...options,
  });
  return { keyring, calls };
}

const failureOf = (result: AuthenticationResult) => (result.ok ? undefined : result.failure);

describe('keySigner', () => {
  it.each([
    ['a 40-character secret', OLD_SECRET],
    ['a secret longer than the hash block', 'é'.repeat(50)],
  ])('is HMAC-SHA-256 with %s, its first 128 bits in 24 base62 characters', (_, secret) => {
    const body = 'pk_0123456789abcdefghijABCDEFGHIJkl_';
    const mac = createHmac('sha256', secret).update(body).digest();
    const words = [0, 4, 8, 12].map((offset) => mac.readUInt32BE(offset));
    const tag = keySigner(secret)(body);
    expect(tag).toMatch(/^[0-9A-Za-z]{24}$/);
    const decoded = [0, 6, 12, 18].map((start) =>
      [...tag.slice(start, start + 6)].reduce(
        (value, char) => value * 62 + '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'.indexOf(char),
        0,
      ),
    );
    expect(decoded).toEqual(words);
  });
});

describe('generateApiKey({ signingSecret })', () => {
  it('puts `_` and the tag before the checksum, which still covers everything before it', () => {
    const { key, displayPrefix } = generateApiKey({ environment: 'staging', signingSecret: NEW_SECRET });
    expect(key).toMatch(/^sk_[0-9A-Za-z]{32}_[0-9A-Za-z]{30}$/);
    expect(hasValidChecksum(key)).toBe(true);
    expect(parseApiKey(key)).toEqual({ environment: 'staging', prefix: 'sk_', checksumValid: true });
    expect(isWellFormedKey(key)).toBe(true);
    expect(displayPrefix).toBe(`${key.slice(0, 7)}…`);
    expect(key.slice(36, 60)).toBe(keySigner(NEW_SECRET)(key.slice(0, 36)));
  });

  it('refuses a secret shorter than 32 characters', () => {
    expect(() => generateApiKey({ signingSecret: 'short' })).toThrow(/at least 32 characters/);
  });

  it('signs the new key of a roll with `planKeyRoll({ signingSecret })`', () => {
    const check = createSignatureCheck([NEW_SECRET], false);
    const record = { id: 'old', environment: 'production', tenants: [] };
    expect(check(planKeyRoll(record, { signingSecret: NEW_SECRET }).newKey.key)).toBeUndefined();
    expect(check(planKeyRoll(record).newKey.key)?.failure.detail).toBe('it is not signed');
  });
});

describe('createSignatureCheck', () => {
  it('refuses a tag word written as its value plus 2^32 (one tag per key)', () => {
    const signed = generateApiKey({ signingSecret: NEW_SECRET }).key;
    const tag = signed.slice(-(SIGNATURE_LENGTH + 6), -6);
    const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    const first = [...tag.slice(0, 6)].reduce((value, char) => value * 62 + BASE62.indexOf(char), 0);
    const aliased = toBase62(first + 2 ** 32, 6) + tag.slice(6);
    expect(createSignatureCheck([NEW_SECRET], false)(signed)).toBeUndefined();
    expect(createSignatureCheck([NEW_SECRET], false)(forge(signed, aliased))?.failure.detail).toBe(
      'its signature does not verify',
    );
  });

  const check = createSignatureCheck([NEW_SECRET, OLD_SECRET], false);

  it('passes keys of every listed secret and refuses a forged tag', () => {
    const signed = generateApiKey({ signingSecret: NEW_SECRET }).key;
    expect(check(signed)).toBeUndefined();
    expect(check(generateApiKey({ signingSecret: OLD_SECRET }).key)).toBeUndefined();
    expect(check(forge(signed))?.failure).toEqual({ reason: 'invalid', detail: 'its signature does not verify' });
    // One character of the tag changed, checksum repaired.
    const tag = signed.slice(-30, -6);
    const flipped = (tag[0] === 'a' ? 'b' : 'a') + tag.slice(1);
    expect(check(forge(signed, flipped))?.failure.detail).toBe('its signature does not verify');
    // A tag of the right key under another secret.
    expect(createSignatureCheck([NEW_SECRET], false)(generateApiKey({ signingSecret: OLD_SECRET }).key)).toEqual({
      ok: false,
      failure: { reason: 'invalid', detail: 'its signature does not verify' },
    });
  });

  it('refuses unsigned keys unless they are accepted', () => {
    const unsigned = generateApiKey().key;
    expect(check(unsigned)?.failure.detail).toBe('it is not signed');
    // Its last character changed (a checksum ending in `0` would still match a `0`).
    const broken = unsigned.slice(0, -1) + (unsigned.endsWith('0') ? '1' : '0');
    expect(check(broken)?.failure.detail).toBe('its checksum does not match');
    expect(check('x')?.failure.reason).toBe('invalid');
    expect(createSignatureCheck([NEW_SECRET], true)(unsigned)).toBeUndefined();
    // A signed-looking key with a broken checksum is not in the signed form: the checksum rule refuses it later.
    const signed = generateApiKey({ signingSecret: NEW_SECRET }).key;
    expect(createSignatureCheck([NEW_SECRET], true)(`${signed.slice(0, -1)}!`)).toBeUndefined();
  });
});

describe('Keyring with signingSecrets', () => {
  it('refuses forged signed keys before the cache, the budget and the store, synchronously', async () => {
    const valid = [0, 1, 2].map(() => generateApiKey({ signingSecret: NEW_SECRET }).key);
    const { keyring, calls } = countingKeyring(valid, {
      signingSecrets: [NEW_SECRET],
      unknownKeyLookups: { perSecond: 1, burst: 1 },
    });
    for (let i = 0; i < 2000; i++) {
      const result = keyring.authenticate({ 'x-api-key': mint() });
      expect(isPending(result)).toBe(false);
      expect(failureOf(result as AuthenticationResult)).toEqual({
        reason: 'invalid',
        detail: 'its signature does not verify',
      });
    }
    expect(calls).toEqual([]);
    expect(keyring.cacheSize).toBe(0);
    // The budget was never charged: three keys used for the first time all reach the store.
    for (const key of valid) expect((await keyring.authenticate({ 'x-api-key': key })).ok).toBe(true);
    expect(calls).toEqual(valid);
  });

  it('rotates: keys of both secrets verify during the overlap; retired, refused with no lookup', async () => {
    const oldKey = generateApiKey({ signingSecret: OLD_SECRET }).key;
    const newKey = generateApiKey({ signingSecret: NEW_SECRET }).key;
    const overlap = countingKeyring([oldKey, newKey], { signingSecrets: [NEW_SECRET, OLD_SECRET] });
    expect((await overlap.keyring.authenticate({ 'x-api-key': oldKey })).ok).toBe(true);
    expect((await overlap.keyring.authenticate({ 'x-api-key': newKey })).ok).toBe(true);
    const retired = countingKeyring([oldKey, newKey], { signingSecrets: [NEW_SECRET] });
    expect(failureOf(await retired.keyring.authenticate({ 'x-api-key': oldKey }))?.detail).toBe(
      'its signature does not verify',
    );
    expect(retired.calls).toEqual([]);
    expect((await retired.keyring.authenticate({ 'x-api-key': newKey })).ok).toBe(true);
  });

  it('refuses unsigned keys with no lookup, unless acceptUnsignedKeys or legacyKeys lets them through', async () => {
    const unsigned = generateApiKey().key;
    const legacy = '3f9a1c7e2b4d4e8f9a0b1c2d3e4f5a6b';
    const strict = countingKeyring([unsigned], { signingSecrets: [NEW_SECRET] });
    expect(failureOf(await strict.keyring.authenticate({ 'x-api-key': unsigned }))?.detail).toBe('it is not signed');
    expect(strict.calls).toEqual([]);
    const migrating = countingKeyring([unsigned], { signingSecrets: [NEW_SECRET], acceptUnsignedKeys: true });
    expect((await migrating.keyring.authenticate({ 'x-api-key': unsigned })).ok).toBe(true);
    const adopted = countingKeyring([legacy], { signingSecrets: [NEW_SECRET], legacyKeys: true });
    expect((await adopted.keyring.authenticate({ 'x-api-key': legacy })).ok).toBe(true);
    // Even there, a key in the signed form must verify.
    const forged = forge(generateApiKey({ signingSecret: OLD_SECRET }).key);
    expect(failureOf(await adopted.keyring.authenticate({ 'x-api-key': forged }))?.detail).toBe(
      'its signature does not verify',
    );
    expect(adopted.calls).toEqual([legacy]);
  });

  it.each([
    [{ signingSecrets: [] }, '`signingSecrets` must list at least one secret'],
    [{ signingSecrets: 'x'.repeat(40) }, '`signingSecrets` must list at least one secret'],
    [
      { signingSecrets: ['short'] },
      '`signingSecrets[0]` must be a string of at least 32 random characters; got 5 characters.',
    ],
    [{ signingSecrets: [NEW_SECRET, undefined] }, 'got undefined (is its variable set?)'],
    [{ signingSecrets: [NEW_SECRET, NEW_SECRET] }, '`signingSecrets` lists the same secret twice'],
    [{ acceptUnsignedKeys: true }, '`acceptUnsignedKeys` only applies with `signingSecrets`'],
    [
      { signingSecrets: [NEW_SECRET], acceptUnsignedKeys: 'yes' },
      '`acceptUnsignedKeys` must be true or false; got "yes".',
    ],
    [
      { signingSecrets: [NEW_SECRET], legacyKeys: true, acceptUnsignedKeys: true },
      '`legacyKeys: true` already accepts unsigned keys; remove `acceptUnsignedKeys`.',
    ],
  ])('refuses %j at start-up', (options, message) => {
    expect(() => countingKeyring([], options as object)).toThrow(message);
  });

  it('never puts a secret in a start-up error', () => {
    const secret = 'a-secret-of-31-characters-xxxxx';
    let message = '';
    try {
      countingKeyring([], { signingSecrets: [secret] });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('got 31 characters');
    expect(message).not.toContain(secret);
  });
});
