import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { ApiKeyLookup, ApiKeyRecord } from 'nest-keyring';

/** The keys issued at start-up, handed out once so the sample can print them. */
export interface IssuedDemoKeys {
  production: { key: string; record: ApiKeyRecord };
  staging: { key: string; record: ApiKeyRecord };
}

// The store keeps a digest, never the key: a leaked table or heap dump gives nobody a working
// key. API keys are long random strings, so a fast unsalted hash is enough (unlike passwords).
function digest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * An in-memory key store for the sample app, with two keys made fresh on every start: a
 * production (`pk_`) key that may send messages and a staging (`sk_`) key that may only read.
 * A real store would query a table of `{ key_hash, ... }` rows the same way.
 */
@Injectable()
export class DemoKeyStore implements ApiKeyLookup {
  private readonly recordsByDigest = new Map<string, ApiKeyRecord>();
  private issued: IssuedDemoKeys | undefined;

  constructor() {
    this.issued = {
      production: this.issue('pk_', {
        id: 'key_demo_production',
        environment: 'production',
        // The first tenant is the default when a request sends no X-TENANT-ID.
        tenants: [
          { id: 123, name: 'Demo tenant' },
          { id: 456, name: 'Second tenant' },
        ],
        scopes: ['messages:send', 'messages:read'],
      }),
      staging: this.issue('sk_', {
        id: 'key_demo_staging',
        environment: 'staging',
        tenants: [{ id: 123, name: 'Demo tenant' }],
        scopes: ['messages:read'],
      }),
    };
  }

  async findKey(key: string): Promise<ApiKeyRecord | null> {
    return this.recordsByDigest.get(digest(key)) ?? null;
  }

  /** Returns the demo keys once, then forgets them: like a dashboard that shows a new key once. */
  takeIssuedKeys(): IssuedDemoKeys {
    const issued = this.issued;
    if (issued === undefined) throw new Error('The demo keys were already taken.');
    this.issued = undefined;
    return issued;
  }

  private issue(prefix: string, record: ApiKeyRecord): { key: string; record: ApiKeyRecord } {
    // 24 random bytes -> 32 base64url characters, all inside the Bearer token alphabet.
    const key = prefix + randomBytes(24).toString('base64url');
    this.recordsByDigest.set(digest(key), record);
    return { key, record };
  }
}
