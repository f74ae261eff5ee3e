import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { CHECKSUM_LENGTH, hasValidChecksum, toBase62 } from './api-key-checksum.js';
import { KeyringConfigError } from './failure.js';
import { fail, type Failed } from './result.js';

/**
 * Characters of a signed key's tag: the first 128 bits of HMAC-SHA-256 over the key's body, as
 * four 32-bit words of 6 base62 characters each (no bias, no big integers). 2^-128 per guess.
 */
export const SIGNATURE_LENGTH = 24;
/** Ends a signed key's body: never in a base62 body, so no unsigned key made by nest-keyring looks signed. */
export const SIGNATURE_MARKER = '_';
const TAIL = SIGNATURE_LENGTH + CHECKSUM_LENGTH;

/**
 * Tags key bodies (everything before the tag, marker included) with `secret`: HMAC-SHA-256, its
 * key object made once (measured: ~8 % cheaper per tag than passing the secret as a string).
 */
export function keySigner(secret: string): (body: string) => string {
  const key = createSecretKey(Buffer.from(secret, 'utf8'));
  return (body) => {
    const mac = createHmac('sha256', key).update(body, 'utf8').digest();
    let tag = '';
    for (let offset = 0; offset < 16; offset += 4) tag += toBase62(mac.readUInt32BE(offset), 6);
    return tag;
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
  const signers = secrets.map(keySigner);
  return (key) => {
    const split = key.length - TAIL;
    if (split < 2 || key[split - 1] !== SIGNATURE_MARKER || !hasValidChecksum(key)) {
      if (acceptUnsigned) return undefined;
      return fail('invalid', { detail: hasValidChecksum(key) ? 'it is not signed' : 'its checksum does not match' });
    }
    const body = key.slice(0, split);
    // latin1: one byte per character, so both sides have the same length whatever the key holds.
    const given = Buffer.from(key.slice(split, split + SIGNATURE_LENGTH), 'latin1');
    for (const sign of signers) if (timingSafeEqual(Buffer.from(sign(body), 'latin1'), given)) return undefined;
    return fail('invalid', { detail: 'its signature does not verify' });
  };
}

/** `signingSecrets` and `acceptUnsignedKeys`, checked. */
export interface ResolvedKeySigning {
  /** Empty when keys are not signed. */
  signingSecrets: readonly string[];
  /** Whether a key without a tag goes on to the lookup: always without `signingSecrets`. */
  acceptUnsignedKeys: boolean;
}

/** Checks `signingSecrets` and `acceptUnsignedKeys` at start-up; `legacyKeys: true` accepts unsigned keys. */
export function resolveKeySigning(options: {
  signingSecrets?: readonly string[];
  acceptUnsignedKeys?: boolean;
  legacyKeys?: boolean;
}): ResolvedKeySigning {
  const { signingSecrets, acceptUnsignedKeys, legacyKeys } = options;
  if (acceptUnsignedKeys !== undefined && typeof acceptUnsignedKeys !== 'boolean') {
    throw new KeyringConfigError(
      `\`acceptUnsignedKeys\` must be true or false; got ${JSON.stringify(acceptUnsignedKeys)}.`,
    );
  }
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
