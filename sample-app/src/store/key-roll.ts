import { randomUUID } from 'node:crypto';
import { planKeyRoll, type ApiKeyRecord } from 'nest-keyring/express';
import { rolledKeyLabel } from '../demo-keys.js';
import type { SampleDatabase } from './database.js';
import { CALLER_MAY_MANAGE_TARGET, insertKeyRow, KeyAdmin, TENANT_IDS_OF_K, type KeyRow } from './key-admin.js';
import { signingSecretFor } from './signing-secret.js';

/** A rolled key: the new key (shown once), its row, and when the old one stops working. */
export interface RolledKey {
  key: string;
  row: KeyRow;
  oldId: string;
  oldExpiresAt: Date;
}

interface TargetRow {
  id: string;
  environment: string;
  scopes: string;
  label: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  rate_limit: string | null;
  family: string | null;
  tenant_ids: string;
}

/**
 * Rolls keys with `planKeyRoll`: a new key for the same tenants, scopes, label and rate limit, of
 * the same family (one rate-limit count for both keys), and the old key ending after an overlap.
 * The check, the new row and the old key's new expiry are one immediate transaction: no other
 * process writes in between. The caller must then make the app forget the old record
 * (`invalidateRecord`), whose cached verdict lacks the new expiry.
 */
export class KeyRolls {
  private readonly admin: KeyAdmin;

  /** @param signingSecret signs new keys: the app's own secret for this database by default */
  constructor(
    private readonly db: SampleDatabase,
    private readonly signingSecret = signingSecretFor(db),
  ) {
    this.admin = new KeyAdmin(db, signingSecret);
  }

  /** The operator's roll (`npm run keys -- roll`): any active key. `undefined`: no such active key. */
  roll(id: string, overlapMs: number, now = new Date()): RolledKey | undefined {
    return this.db.transaction(() => this.rollNow(id, overlapMs, now)).immediate();
  }

  /**
   * Rolls a key on behalf of the key `callerId`, under the rules of `KeyAdmin.revokeAs` (same
   * environment, all of the target's tenants and scopes among the caller's). `undefined` when there is no
   * such active key or the caller may not roll it; the two are not told apart.
   */
  rollAs(callerId: string, id: string, overlapMs: number, now = new Date()): RolledKey | undefined {
    return this.db
      .transaction(() => {
        const allowed = this.db
          .prepare(`SELECT 1 FROM api_keys AS target WHERE target.id = :id AND ${CALLER_MAY_MANAGE_TARGET}`)
          .get({ id, callerId, now: now.toISOString() });
        return allowed === undefined ? undefined : this.rollNow(id, overlapMs, now);
      })
      .immediate();
  }

  private rollNow(id: string, overlapMs: number, now: Date): RolledKey | undefined {
    const target = this.db
      .prepare<[string], TargetRow>(
        `SELECT k.id, k.environment, k.scopes, k.label, k.expires_at, k.revoked_at, k.rate_limit, k.family,
                ${TENANT_IDS_OF_K}
         FROM api_keys k WHERE k.id = ?`,
      )
      .get(id);
    if (target === undefined || target.revoked_at !== null) return undefined;
    if (target.expires_at !== null && !(Date.parse(target.expires_at) > now.getTime())) return undefined;
    const record: ApiKeyRecord = {
      id: target.id,
      environment: target.environment,
      scopes: JSON.parse(target.scopes) as string[],
      tenants: (JSON.parse(target.tenant_ids) as number[]).map((tenantId) => ({ id: tenantId })),
      expiresAt: target.expires_at,
      family: target.family,
    };
    const plan = planKeyRoll(record, { overlapMs, now, signingSecret: this.signingSecret });
    const newId = `key_${randomUUID().slice(0, 8)}`;
    insertKeyRow(this.db, {
      id: newId,
      hash: plan.newKey.hash,
      displayPrefix: plan.newKey.displayPrefix,
      environment: plan.newRecord.environment,
      scopes: plan.newRecord.scopes ?? [],
      label: rolledKeyLabel(target.label),
      expiresAt: plan.newRecord.expiresAt == null ? null : new Date(plan.newRecord.expiresAt).toISOString(),
      createdAt: now.toISOString(),
      rateLimit: target.rate_limit,
      tenantIds: (plan.newRecord.tenants ?? []).map((tenant) => tenant.id),
      family: String(plan.newRecord.family),
    });
    this.db.prepare('UPDATE api_keys SET expires_at = ? WHERE id = ?').run(plan.oldExpiresAt.toISOString(), id);
    return { key: plan.newKey.key, row: this.admin.get(newId)!, oldId: id, oldExpiresAt: plan.oldExpiresAt };
  }
}
