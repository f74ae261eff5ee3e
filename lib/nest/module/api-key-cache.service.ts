import { Inject, Injectable } from '@nestjs/common';
import type { Keyring } from '../../core/keyring.js';
import { KEYRING } from './api-key.constants.js';

/**
 * The lookup cache of this process, for revocation: call it right after you revoke a key in
 * your store and this process refuses the key on its very next request. Other processes keep
 * their cached answer until `cache.ttlMs` passes (see docs/caching.md), unless the module has an
 * `invalidationBus`: then each call reaches every replica too (see docs/replicas.md), without
 * waiting for it.
 *
 * @example
 * async revoke(id: string) {
 *   await this.keys.update({ where: { id }, data: { revoked: true } });
 *   this.apiKeyCache.invalidateRecord(id);
 * }
 */
@Injectable()
export class ApiKeyCache {
  constructor(@Inject(KEYRING) private readonly keyring: Keyring) {}

  /** Forgets one key. */
  invalidateKey(key: string): void {
    this.keyring.invalidateKey(key);
  }

  /** Forgets every key whose record has this id. */
  invalidateRecord(recordId: string | number): void {
    this.keyring.invalidateRecord(recordId);
  }

  /** Forgets everything. */
  clear(): void {
    this.keyring.clearCache();
  }

  /** Keys held now. */
  get size(): number {
    return this.keyring.cacheSize;
  }
}
