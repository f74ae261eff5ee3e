import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { InMemoryLookup, KEYS } from '../../../fixtures/in-memory-lookup.js';
import { Keyring } from '../../../../lib/core/keyring.js';
import { ApiKeyCache } from '../../../../lib/nest/module/api-key-cache.service.js';
import { ApiKeyModule } from '../../../../lib/nest/module/api-key.module.js';
import { InjectKeyring } from '../../../../lib/nest/module/injection.decorators.js';

@Injectable()
class KeyCheckService {
  constructor(@InjectKeyring() readonly keyring: Keyring) {}

  async isValid(key: string): Promise<boolean> {
    return (await this.keyring.authenticate({ 'x-api-key': key })).ok;
  }
}

@Module({ providers: [KeyCheckService] })
class FeatureModule {}

describe('@InjectKeyring()', () => {
  it('injects the Keyring the module configured, in any module, sharing its cache', async () => {
    const lookup = new InMemoryLookup();
    const moduleRef = await Test.createTestingModule({
      imports: [ApiKeyModule.forRoot({ lookup }), FeatureModule],
    }).compile();
    try {
      const service = moduleRef.get(KeyCheckService);
      expect(service.keyring).toBeInstanceOf(Keyring);
      expect(await service.isValid(KEYS.production)).toBe(true);
      expect(await service.isValid(KEYS.unknown)).toBe(false);
      expect(moduleRef.get(ApiKeyCache).size).toBe(2);
      expect(service.keyring.options.lookup).toBe(lookup);
    } finally {
      await moduleRef.close();
    }
  });
});
