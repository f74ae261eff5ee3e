import { hash } from 'node:crypto';
import { BASE62, CHECKSUM_LENGTH, hasValidChecksum, toBase62 } from './api-key-checksum.js';
import { KeyringConfigError } from '../refusals/failure.js';
import { checkBoolean } from '../options/option-checks.js';
import { fail, type Failed } from '../result.js';

/**
 * Characters of a signed key's tag: the first 128 bits of HMAC-SHA-256 over the key's body, as
 * four 32-bit words of 6 base62 characters each (no bias, no big integers). 2^-128 per guess.
 * Shorter than the random part, so the marker before it falls inside an unsigned key's random
 * part (never `_`) whatever the prefix.
 */
export const SIGNATURE_LENGTH = 24;
const WORDS = 4;
/** Ends a signed key's body: never in a base62 body, so no unsigned key made by nest-keyring looks signed. */
export const SIGNATURE_MARKER = '_';
const TAIL = SIGNATURE_LENGTH + CHECKSUM_LENGTH;
// Keys are at most 256 characters (see credentials.ts), so a body always fits.
const MAX_BODY_LENGTH = 256;
const BLOCK = 64;

/**
 * HMAC-SHA-256 of key bodies (everything before the tag, marker included) under `secret` (RFC
 * 2104), as two one-shot hashes over pads made once: measured on Node 24, 1.2 µs, a third of
 * `createHmac`'s cost, which every request with a signed key pays. Answers the digest in hex.
 */
function bodyMac(secret: string): (body: string) => string {
  let key = Buffer.from(secret, 'utf8');
  if (key.length > BLOCK) key = Buffer.from(hash('sha256', key, 'hex'), 'hex');
  const inner = Buffer.alloc(BLOCK + MAX_BODY_LENGTH);
  const outer = Buffer.alloc(BLOCK + 32);
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = (key[i] ?? 0) ^ 0x36;
    outer[i] = (key[i] ?? 0) ^ 0x5c;
  }
  return (body) => {
    // Bodies are ASCII (the credential's alphabet): latin1 writes one byte per character.
    const length = inner.write(body.length > MAX_BODY_LENGTH ? '' : body, BLOCK, 'latin1');
    outer.write(hash('sha256', inner.subarray(0, BLOCK + length), 'hex'), BLOCK, 'hex');
    return hash('sha256', outer, 'hex');
  };
}

/** Word `word` (0 to 3) of the tag: 32 bits of a hex digest. */
function tagWord(digest: string, word: number): number {
  return parseInt(digest.slice(word * 8, word * 8 + 8), 16);
}

/** The tag of key bodies signed with `secret` (see `SIGNATURE_LENGTH`). */
export function keySigner(secret: string): (body: string) => string {
  const mac = bodyMac(secret);
  return (body) => {
    const digest = mac(body);
    let tag = '';
    for (let word = 0; word < WORDS; word++) tag += toBase62(tagWord(digest, word), 6);
    return tag;
  };
}

/**
 * Whether `tag` is the tag of `body`: the given tag is read back into words and compared with the
 * digest's, every word whatever the first difference (no string is built on the request path).
 */
function tagVerifier(secret: string): (body: string, tag: string) => boolean {
  const mac = bodyMac(secret);
  return (body, tag) => {
    const digest = mac(body);
    let difference = 0;
    for (let word = 0; word < WORDS; word++) {
      let value = 0;
      for (let i = word * 6; i < word * 6 + 6; i++) value = value * 62 + BASE62.indexOf(tag[i] ?? '');
      // Arithmetic, not `^`: 6 base62 digits reach past 32 bits, and no branch on the values.
      difference += Math.abs(value - tagWord(digest, word));
    }
    return difference === 0;
  };
}

/**
 * The refusal for a key that no signing secret vouches for, or `undefined` to let it on to the
 * cache and the store. Only memory and CPU: no lookup, no budget.
 */
export type SignatureCheck = (key: string) => Failed | undefined;

/**
 * Checks keys against `secrets` (any of them verifies: rotation). A key in the signed form (the
 * marker before its tag, a valid checksum) must verify; any other key passes only when unsigned
 * keys are accepted.
 */
export function createSignatureCheck(secrets: readonly string[], acceptUnsigned: boolean): SignatureCheck {
  const verifiers = secrets.map(tagVerifier);
  return (key) => {
    const split = key.length - TAIL;
    if (split < 2 || key[split - 1] !== SIGNATURE_MARKER || !hasValidChecksum(key)) {
      if (acceptUnsigned) return undefined;
      return fail('invalid', { detail: hasValidChecksum(key) ? 'it is not signed' : 'its checksum does not match' });
    }
    const body = key.slice(0, split);
    const given = key.slice(split, split + SIGNATURE_LENGTH);
    for (const verify of verifiers) if (verify(body, given)) return undefined;
    return fail('invalid', { detail: 'its signature does not verify' });
  };
}

/**
 * Checks `signingSecrets` (empty when keys are not signed) and `acceptUnsignedKeys` (whether a key
 * without a tag goes on to the lookup: always without `signingSecrets`) at start-up;
 * `legacyKeys: true` accepts unsigned keys.
 */
export function resolveKeySigning(options: {
  signingSecrets?: readonly string[];
  acceptUnsignedKeys?: boolean;
  legacyKeys?: boolean;
}): { signingSecrets: readonly string[]; acceptUnsignedKeys: boolean } {
  const { signingSecrets, acceptUnsignedKeys, legacyKeys } = options;
  checkBoolean('acceptUnsignedKeys', acceptUnsignedKeys, false);
  if (signingSecrets === undefined) {
    if (acceptUnsignedKeys !== undefined) {
      throw new KeyringConfigError('`acceptUnsignedKeys` only applies with `signingSecrets`: remove it or add them.');
    }
    return { signingSecrets: [], acceptUnsignedKeys: true };
  }
  if (!Array.isArray(signingSecrets) || signingSecrets.length === 0) {
    throw new KeyringConfigError(
      '`signingSecrets` must list at least one secret, the one that signs new keys first, ' +
        'e.g. [process.env.KEYRING_SIGNING_SECRET].',
    );
  }
  signingSecrets.forEach((secret: unknown, index) => {
    if (typeof secret !== 'string' || secret.length < 32) {
      // Never the secret itself, nor a value that may hold it.
      const got =
        typeof secret === 'string' ? `${secret.length} characters` : `${typeof secret} (is its variable set?)`;
      throw new KeyringConfigError(
        `\`signingSecrets[${index}]\` must be a string of at least 32 random characters; got ${got}.`,
      );
    }
  });
  if (new Set(signingSecrets).size !== signingSecrets.length) {
    throw new KeyringConfigError('`signingSecrets` lists the same secret twice; each secret once, the newest first.');
  }
  if (legacyKeys === true && acceptUnsignedKeys !== undefined) {
    throw new KeyringConfigError('`legacyKeys: true` already accepts unsigned keys; remove `acceptUnsignedKeys`.');
  }
  return {
    signingSecrets: Object.freeze([...signingSecrets]),
    acceptUnsignedKeys: legacyKeys === true || !!acceptUnsignedKeys,
  };
}
