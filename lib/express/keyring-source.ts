import { Keyring } from '../core/keyring.js';
import type { KeyringOptions } from '../core/options/keyring-options.js';

/** Middleware take either options or a `Keyring` shared between them (one cache, one config). */
export type KeyringSource = KeyringOptions | Keyring;

export function toKeyring(source: KeyringSource): Keyring {
  return source instanceof Keyring ? source : new Keyring(source);
}
