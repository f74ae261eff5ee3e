import { Injectable } from '@nestjs/common';
import { generateApiKey, hashApiKey, type ApiKeyLookup, type ApiKeyRecord } from 'nest-keyring';

/** The keys issued at start-up, handed out once so the sample can print them. */
export interface IssuedDemoKeys {
  production: { key: string; record: ApiKeyRecord };
  staging: { key: string; record: ApiKeyRecord };
}

/**
 * An in-memory key store for the sample app, with two keys made fresh on every start: a
 * production (`pk_`) key that may send messages and a staging (`sk_`) key that may only read.
 * A real store would query a table of `{ key_hash, ... }` rows the same way.
 */
@Injectable()
export class DemoKeyStore implements ApiKeyLookup {
  private readonly recordsByHash = new Map<string, ApiKeyRecord>();
  private issued: IssuedDemoKeys | undefined;

  constructor() {
    this.issued = {
      production: this.issue('production', {
        id: 'key_demo_production',
        environment: 'production',
        // The first tenant is the default when a request sends no X-TENANT-ID.
        tenants: [
          { id: 123, name: 'Demo tenant' },
          { id: 456, name: 'Second tenant' },
        ],
        scopes: ['messages:send', 'messages:read'],
      }),
      staging: this.issue('staging', {
        id: 'key_demo_staging',
        environment: 'staging',
        tenants: [{ id: 123, name: 'Demo tenant' }],
        scopes: ['messages:read'],
      }),
    };
  }

  async findKey(key: string): Promise<ApiKeyRecord | null> {
    // The store keeps a hash, never the key: a leaked table or heap dump gives nobody a key.
    return this.recordsByHash.get(hashApiKey(key)) ?? null;
  }

  /** Returns the demo keys once, then forgets them: like a dashboard that shows a new key once. */
  takeIssuedKeys(): IssuedDemoKeys {
    const issued = this.issued;
    if (issued === undefined) throw new Error('The demo keys were already taken.');
    this.issued = undefined;
    return issued;
  }

  private issue(environment: string, record: ApiKeyRecord): { key: string; record: ApiKeyRecord } {
    // pk_/sk_ + 32 random base62 characters + a checksum the guard checks before any lookup.
    const { key, hash } = generateApiKey({ environment });
    this.recordsByHash.set(hash, record);
    return { key, record };
  }
}
