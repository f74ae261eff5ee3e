import { crc32 } from 'node:zlib';

/** The digits of base62, in order: keys, checksums and tags are written in them. */
export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Characters of the checksum at the end of a generated key: CRC32 in base62 (62^6 > 2^32). */
export const CHECKSUM_LENGTH = 6;

/** Encodes a number in base62, left-padded to `width` characters. */
export function toBase62(value: number, width: number): string {
  let out = '';
  let rest = value;
  while (rest > 0) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out.padStart(width, '0');
}

/** The checksum of the key body `text` (everything before the checksum): CRC-32 (IEEE) of its UTF-8 bytes. */
export function checksumOf(text: string): string {
  return toBase62(crc32(text), CHECKSUM_LENGTH);
}

/**
 * True when the key's last six characters are the checksum of the rest, as in keys made by
 * `generateApiKey()`. Lets the guard (and secret scanners) tell a real key from a typo or a
 * random guess without asking the store. A checksum is not a secret and proves nothing about
 * the key's validity; it only filters garbage.
 */
export function hasValidChecksum(key: string): boolean {
  if (key.length <= CHECKSUM_LENGTH) return false;
  const split = key.length - CHECKSUM_LENGTH;
  return checksumOf(key.slice(0, split)) === key.slice(split);
}

/** Random base62 characters, uniformly distributed (bytes >= 248 are redrawn). */
export function randomBase62(length: number, randomBytes: (size: number) => Uint8Array): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}
