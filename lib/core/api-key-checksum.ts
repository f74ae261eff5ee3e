const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Characters of the checksum at the end of a generated key: CRC32 in base62 (62^6 > 2^32). */
export const CHECKSUM_LENGTH = 6;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE) of a string's UTF-16 code units, which for a key's ASCII are its bytes. */
function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

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

/** The checksum of the key body `text` (everything before the checksum). */
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
