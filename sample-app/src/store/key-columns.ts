import type { SampleDatabase } from './database.js';

/** Columns added to `api_keys` after its first version, with their SQL types. */
const ADDED_COLUMNS = [
  // When a request with the key was last admitted (ISO time), written behind in batches.
  ['last_used_at', 'TEXT'],
  // The key's own rate limit as JSON, e.g. {"limit":5,"windowMs":1000}; NULL: the app's default.
  ['rate_limit', 'TEXT'],
  // The id of the key a rolled key's line began with: rolled keys share its rate-limit count.
  ['family', 'TEXT'],
] as const;

/**
 * Brings an existing database file up to date: adds the columns it lacks. Inside an immediate
 * transaction, so that two app processes starting on the same file at once add each column once.
 */
export function addMissingKeyColumns(db: SampleDatabase): void {
  db.transaction(() => {
    const present = new Set(
      (db.pragma('table_info(api_keys)') as Array<{ name: string }>).map((column) => column.name),
    );
    for (const [name, type] of ADDED_COLUMNS) {
      if (!present.has(name)) db.exec(`ALTER TABLE api_keys ADD COLUMN ${name} ${type}`);
    }
  }).immediate();
}
