import { hashApiKey, type ApiKeyLookup, type ApiKeyRecord } from 'nest-keyring';
import type { RateLimit } from '../duration.js';
import type { SampleDatabase } from './database.js';

interface KeyRecordRow {
  id: string;
  environment: string;
  scopes: string;
  expires_at: string | null;
  revoked_at: string | null;
  rate_limit: string | null;
  family: string | null;
  tenants: string;
}

/**
 * The key lookup on SQLite: one indexed query by hash, tenants in their stored order. Expiry
 * and revocation are returned as they are; the guard refuses such records itself.
 */
export class SqliteKeyStore implements ApiKeyLookup {
  private readonly byHash;

  constructor(db: SampleDatabase) {
    this.byHash = db.prepare<[string], KeyRecordRow>(
      `SELECT k.id, k.environment, k.scopes, k.expires_at, k.revoked_at, k.rate_limit, k.family,
              (SELECT json_group_array(json_object('id', t.id, 'name', t.name))
                 FROM (SELECT tenants.id, tenants.name FROM api_key_tenants
                       JOIN tenants ON tenants.id = api_key_tenants.tenant_id
                       WHERE api_key_tenants.key_id = k.id ORDER BY api_key_tenants.position) t) AS tenants
       FROM api_keys k WHERE k.hash = ?`,
    );
  }

  async findKey(key: string): Promise<ApiKeyRecord | null> {
    const row = this.byHash.get(hashApiKey(key));
    if (row === undefined) return null;
    const record: ApiKeyRecord & { rateLimit: RateLimit | null } = {
      id: row.id,
      environment: row.environment,
      scopes: JSON.parse(row.scopes) as string[],
      tenants: JSON.parse(row.tenants) as ApiKeyRecord['tenants'],
      expiresAt: row.expires_at,
      revoked: row.revoked_at !== null,
      // The key's own limit (`npm run keys -- create --rate-limit 5/1s`); null: the app's default.
      rateLimit: row.rate_limit === null ? null : (JSON.parse(row.rate_limit) as RateLimit),
      // Rolled keys share their first key's count: rolling never multiplies the limit.
      family: row.family,
    };
    return record;
  }
}
