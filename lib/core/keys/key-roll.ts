import type { ApiKeyRecord } from './api-key-record.js';
import { generateApiKey, type GeneratedApiKey, type GenerateApiKeyOptions } from './api-key-generator.js';
import { checkDuration } from '../options/duration.js';
import { expiryTime } from './record-check.js';

/** How long a rolled key keeps working by default: 24 hours. */
export const DEFAULT_ROLL_OVERLAP_MS = 24 * 60 * 60 * 1000;
/** The longest overlap a roll gives the old key: 365 days. */
export const MAX_ROLL_OVERLAP_MS = 365 * 24 * 60 * 60 * 1000;

/** Options of `planKeyRoll`; `prefixes`, `pepper` and `signingSecret` make the new key as in `generateApiKey`. */
export interface PlanKeyRollOptions extends Pick<GenerateApiKeyOptions, 'prefixes' | 'pepper' | 'signingSecret'> {
  /**
   * How long the old key keeps working after the roll, in milliseconds; 0 ends it at once. At
   * most `MAX_ROLL_OVERLAP_MS` (365 days).
   * @default 86400000 (24 hours)
   */
  overlapMs?: number;
  /** The time of the roll. @default Date.now() */
  now?: Date | number;
  /** The new key's environment, for a record that does not state its own. @default record.environment */
  environment?: string;
}

/** What rolling a key means for the store: a new key and record, and the old record's new expiry. */
export interface KeyRollPlan {
  /** The new key, with its hash and display prefix: show `key` to its owner once, store `hash`. */
  newKey: GeneratedApiKey;
  /**
   * The new record to store (give it an id): every field of the old one (tenants, scopes,
   * metadata, expiry, and any other, copied) but `id` and `revoked`, with the new key's
   * environment and the old record's `family` (its id when it had none): store it, so that
   * the rolled keys share one rate-limit count.
   */
  newRecord: Omit<ApiKeyRecord, 'id' | 'revoked'> & { environment: string; family: string | number };
  /** The old record's id. */
  oldRecordId: ApiKeyRecord['id'];
  /** When the old key stops working: now + overlap, or its own earlier expiry (never extended). */
  oldExpiresAt: Date;
}

/**
 * Plans rolling a key: a new key of the same environment for the same tenants and scopes, and an
 * end for the old one after an overlap, so clients can switch without downtime. Nothing is written
 * here: the store writes `newRecord` (with the new key's hash) and sets the old record's
 * `expiresAt` to `oldExpiresAt`, ideally in one transaction. Then call
 * `keyring.invalidateRecord(plan.oldRecordId)`: the cache holds the old record's verdict, without
 * the new expiry, until its TTL.
 *
 * @throws TypeError for a revoked or expired record, a record with no environment (and none given),
 *   an overlap that is not 0 to `MAX_ROLL_OVERLAP_MS`, or a `now` that gives no valid end
 *
 * @example
 * const plan = planKeyRoll(oldRecord, { overlapMs: 24 * 60 * 60 * 1000 });
 * await db.transaction(async (tx) => {
 *   await tx.apiKey.create({ data: { ...plan.newRecord, hash: plan.newKey.hash } }); // family included
 *   await tx.apiKey.update({ where: { id: plan.oldRecordId }, data: { expiresAt: plan.oldExpiresAt } });
 * });
 * keyring.invalidateRecord(plan.oldRecordId);
 * return plan.newKey.key; // shown once
 */
export function planKeyRoll(record: ApiKeyRecord, options: PlanKeyRollOptions = {}): KeyRollPlan {
  const { overlapMs = DEFAULT_ROLL_OVERLAP_MS, prefixes, pepper, signingSecret } = options;
  const now = options.now === undefined ? Date.now() : new Date(options.now).getTime();
  checkDuration(
    'overlapMs',
    overlapMs,
    { max: MAX_ROLL_OVERLAP_MS },
    (message) => new TypeError(`nest-keyring: ${message}`),
  );
  // An end a Date cannot hold would be stored as null, which many stores read as "never".
  const overlapEnd = new Date(now + overlapMs).getTime();
  if (Number.isNaN(overlapEnd)) {
    throw new TypeError('nest-keyring: `now` is not a valid time, or `now` + `overlapMs` is past the last valid date.');
  }
  if (record.revoked) throw new TypeError(`nest-keyring: key ${record.id} is revoked; a revoked key is not rolled.`);
  const hasExpiry = record.expiresAt !== undefined && record.expiresAt !== null;
  const currentExpiry = hasExpiry ? expiryTime(record.expiresAt) : undefined;
  // NaN (an unreadable expiry) compares false: it counts as passed, as the guard reads it.
  if (currentExpiry !== undefined && !(currentExpiry > now)) {
    throw new TypeError(`nest-keyring: key ${record.id} has expired; an expired key is not rolled.`);
  }
  const environment = options.environment ?? record.environment;
  if (environment === undefined) {
    throw new TypeError(`nest-keyring: key ${record.id} states no environment; pass \`environment\`.`);
  }
  const newKey = generateApiKey({ environment, prefixes, pepper, signingSecret });
  // Everything the record says about the key but its identity and its end: fields added to records
  // later (a rate limit) carry over too.
  const { id: _id, revoked: _revoked, expiresAt: _expiresAt, ...kept } = record;
  const newRecord: KeyRollPlan['newRecord'] = { ...kept, environment, family: record.family ?? record.id };
  if (record.tenants !== undefined) newRecord.tenants = record.tenants.map((tenant) => ({ ...tenant }));
  if (record.scopes !== undefined) newRecord.scopes = [...record.scopes];
  if (record.metadata !== undefined) newRecord.metadata = { ...record.metadata };
  if (currentExpiry !== undefined) newRecord.expiresAt = new Date(currentExpiry);
  return {
    newKey,
    newRecord,
    oldRecordId: record.id,
    oldExpiresAt: new Date(currentExpiry === undefined ? overlapEnd : Math.min(currentExpiry, overlapEnd)),
  };
}
