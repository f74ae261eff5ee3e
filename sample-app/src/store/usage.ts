import type { KeyUsage } from 'nest-keyring';
import type { SampleDatabase } from './database.js';

/**
 * Keeps each key's `last_used_at` from the batches `usage.onUsed` receives: one transaction a
 * batch, never a write per request. A time never moves back: another instance, or a batch
 * retried after a failure, may bring an older one.
 */
export class SqliteUsageStore {
  private readonly touch;
  private readonly touchAll;

  constructor(db: SampleDatabase) {
    this.touch = db.prepare<{ id: string; at: string }>(
      `UPDATE api_keys SET last_used_at = :at
       WHERE id = :id AND (last_used_at IS NULL OR last_used_at < :at)`,
    );
    this.touchAll = db.transaction((batch: readonly KeyUsage[]) => {
      for (const used of batch) this.touch.run({ id: String(used.recordId), at: used.lastUsedAt.toISOString() });
    });
  }

  /** `usage.onUsed`: writes one batch. */
  onUsed(batch: readonly KeyUsage[]): void {
    this.touchAll(batch);
  }
}
