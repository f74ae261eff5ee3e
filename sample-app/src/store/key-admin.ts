import { randomUUID } from 'node:crypto';
// The Nest-free entry: the keys command loads no Nest and answers at once.
import { generateApiKey } from 'nest-keyring/express';
import type { RateLimit } from '../duration.js';
import type { SampleDatabase } from './database.js';
import { signingSecretFor } from './signing-secret.js';

export interface CreateKeyInput {
  environment: 'production' | 'staging';
  tenantIds: number[];
  scopes: string[];
  label?: string;
  expiresAt?: Date;
  /** The key's own rate limit; none: the app's default. */
  rateLimit?: RateLimit;
}

export interface KeyRow {
  id: string;
  display_prefix: string;
  environment: string;
  scopes: string[];
  tenant_ids: number[];
  label: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  /** When a request with the key was last admitted, as the app last wrote it (written behind). */
  last_used_at: string | null;
  rate_limit: RateLimit | null;
}

/**
 * The conditions under which the key `:callerId` may manage (revoke, roll) the key `target`:
 * the target has the caller's environment and is linked to at least one tenant, every one of
 * its tenants is linked to the caller too, and every one of its scopes is the caller's too (a
 * roll hands out a key with the target's scopes: it must never grant what the caller lacks); the
 * caller itself is active. Read from the database, not from a cached record: a caller revoked a
 * moment ago by another process manages nothing.
 */
export const CALLER_MAY_MANAGE_TARGET =
  `target.environment = (
               SELECT caller.environment FROM api_keys AS caller
               WHERE caller.id = :callerId AND caller.revoked_at IS NULL ` +
  `AND (caller.expires_at IS NULL OR caller.expires_at > :now))
             AND EXISTS (SELECT 1 FROM api_key_tenants WHERE key_id = target.id)
             AND NOT EXISTS (
               SELECT 1 FROM api_key_tenants AS link
               WHERE link.key_id = target.id
                 AND link.tenant_id NOT IN (SELECT tenant_id FROM api_key_tenants WHERE key_id = :callerId))
             AND NOT EXISTS (
               SELECT 1 FROM json_each(target.scopes) AS scope
               WHERE scope.value NOT IN (
                 SELECT own.value FROM api_keys AS caller, json_each(caller.scopes) AS own
                 WHERE caller.id = :callerId))`;

/** The tenant ids of the key row `k`, in their order, as a JSON array (column `tenant_ids`). */
export const TENANT_IDS_OF_K =
  '(SELECT json_group_array(tenant_id) FROM (SELECT tenant_id FROM api_key_tenants ' +
  'WHERE key_id = k.id ORDER BY position)) AS tenant_ids';

/** A new key's columns as stored: only the hash of the key, scopes and tenants in their order. */
export interface NewKeyRow {
  id: string;
  hash: string;
  displayPrefix: string;
  environment: string;
  scopes: readonly string[];
  label: string | null;
  /** ISO time, or null: never expires. */
  expiresAt: string | null;
  createdAt: string;
  /** The `rate_limit` column: the key's rate limit as JSON, or null for the app's default. */
  rateLimit: string | null;
  tenantIds: ReadonlyArray<string | number>;
  /** For a rolled key, the id its line began with (`planKeyRoll`'s `newRecord.family`). */
  family?: string;
}

/** Writes a new key and its links to tenants. Run it inside the caller's transaction. */
export function insertKeyRow(db: SampleDatabase, row: NewKeyRow): void {
  db.prepare(
    `INSERT INTO api_keys
       (id, hash, display_prefix, environment, scopes, label, expires_at, created_at, rate_limit, family)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    row.id,
    row.hash,
    row.displayPrefix,
    row.environment,
    JSON.stringify(row.scopes),
    row.label,
    row.expiresAt,
    row.createdAt,
    row.rateLimit,
    row.family ?? null,
  );
  const link = db.prepare('INSERT INTO api_key_tenants (key_id, tenant_id, position) VALUES (?, ?, ?)');
  row.tenantIds.forEach((tenantId, position) => link.run(row.id, tenantId, position));
}

/**
 * Creates, lists and revokes keys. Keys come from the package's generator, signed with the app's
 * secret, and only their hashes are stored; the key itself is returned once, to be handed to its owner.
 */
export class KeyAdmin {
  /** @param signingSecret signs new keys: the app's own secret for this database by default */
  constructor(
    private readonly db: SampleDatabase,
    private readonly signingSecret = signingSecretFor(db),
  ) {}

  create(input: CreateKeyInput): { key: string; row: KeyRow } {
    const { key, hash, displayPrefix } = generateApiKey({
      environment: input.environment,
      signingSecret: this.signingSecret,
    });
    const id = `key_${randomUUID().slice(0, 8)}`;
    const unknown = input.tenantIds.filter(
      (tenantId) => !this.db.prepare('SELECT 1 FROM tenants WHERE id = ?').get(tenantId),
    );
    if (unknown.length > 0) throw new Error(`unknown tenant(s): ${unknown.join(', ')}`);
    this.db.transaction(() =>
      insertKeyRow(this.db, {
        id,
        hash,
        displayPrefix,
        environment: input.environment,
        scopes: input.scopes,
        label: input.label ?? null,
        expiresAt: input.expiresAt?.toISOString() ?? null,
        createdAt: new Date().toISOString(),
        rateLimit: input.rateLimit === undefined ? null : JSON.stringify(input.rateLimit),
        tenantIds: input.tenantIds,
      }),
    )();
    return { key, row: this.get(id)! };
  }

  get(id: string): KeyRow | undefined {
    return this.list().find((row) => row.id === id);
  }

  list(): KeyRow[] {
    const rows = this.db
      .prepare(
        `SELECT k.id, k.display_prefix, k.environment, k.scopes, k.label, k.expires_at, k.revoked_at,
                k.last_used_at, k.rate_limit,
                ${TENANT_IDS_OF_K}
         FROM api_keys k ORDER BY k.created_at`,
      )
      .all() as Array<
      Omit<KeyRow, 'scopes' | 'tenant_ids' | 'rate_limit'> & {
        scopes: string;
        tenant_ids: string;
        rate_limit: string | null;
      }
    >;
    return rows.map((row) => ({
      ...row,
      scopes: JSON.parse(row.scopes),
      tenant_ids: JSON.parse(row.tenant_ids),
      rate_limit: row.rate_limit === null ? null : JSON.parse(row.rate_limit),
    }));
  }

  /**
   * Marks a key revoked, whoever it belongs to: the operator's tool (`npm run keys -- revoke`),
   * which runs on the machine and acts for no tenant. Returns false when there is no such key or
   * it was already revoked.
   */
  revoke(id: string): boolean {
    return (
      this.db
        .prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
        .run(new Date().toISOString(), id).changes === 1
    );
  }

  /**
   * Marks a key revoked on behalf of the key `callerId`, only if the caller may
   * (`CALLER_MAY_MANAGE_TARGET`): the target has the caller's environment and is linked to at
   * least one tenant, and its tenants and scopes are all the caller's too. A key linked to no
   * tenant has no owner to show, so it is refused.
   * Returns false when there is no such active key or the caller may not revoke it; the two are
   * not told apart, so a caller learns nothing about other tenants' keys.
   *
   * The conditions are part of the UPDATE itself: the revocation happens only where they hold at
   * that moment, with no window between a check and the write for a link to change. The caller's
   * tenants, environment and state are read from the database, not from a cached record: a caller
   * revoked a moment ago by another process revokes nothing.
   */
  revokeAs(callerId: string, id: string): boolean {
    return (
      this.db
        .prepare(
          `UPDATE api_keys AS target SET revoked_at = :now
           WHERE target.id = :id AND target.revoked_at IS NULL
             AND ${CALLER_MAY_MANAGE_TARGET}`,
        )
        .run({ now: new Date().toISOString(), id, callerId }).changes === 1
    );
  }

  /** Revokes every key with this label (the sample app replaces its demo keys on each start). */
  revokeLabelled(label: string): number {
    return this.db
      .prepare('UPDATE api_keys SET revoked_at = ? WHERE label = ? AND revoked_at IS NULL')
      .run(new Date().toISOString(), label).changes;
  }
}
