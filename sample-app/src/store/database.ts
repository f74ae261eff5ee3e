import Database from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { addMissingKeyColumns } from './key-columns.js';

export type SampleDatabase = Database.Database;

export interface OpenDatabaseOptions {
  /**
   * The folder holding the file is the app's own data folder: it is made readable by its owner
   * only (0700) even when it already exists, as an older version left it open to everyone.
   * Default false: a folder that already exists may hold other things and is left as it is (a
   * folder this call creates is 0700 either way; the database files are always 0600).
   */
  ownsDirectory?: boolean;
}

const OWNER_ONLY_FOLDER = 0o700;
const OWNER_ONLY_FILE = 0o600;
/**
 * How long a write waits for another process's write to the same file (several app instances,
 * the keys command) before failing with SQLITE_BUSY.
 */
const BUSY_TIMEOUT_MS = 5_000;
/** How long to pause before switching to WAL again; the start-up is synchronous, so it blocks. */
const RETRY_PAUSE_MS = 10;
const RETRY_PAUSE = new Int32Array(new SharedArrayBuffer(4));
/** The files SQLite keeps beside the database in WAL mode. */
const SIDE_FILES = ['-wal', '-shm'];

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS tenants (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS api_keys (
    id             TEXT PRIMARY KEY,
    hash           TEXT NOT NULL UNIQUE,   -- hashApiKey(key): the key itself is never stored
    display_prefix TEXT NOT NULL,
    environment    TEXT NOT NULL,
    scopes         TEXT NOT NULL,          -- JSON array
    label          TEXT,
    expires_at     TEXT,
    revoked_at     TEXT,
    created_at     TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS api_key_tenants (
    key_id    TEXT NOT NULL REFERENCES api_keys(id),
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    position  INTEGER NOT NULL,            -- the first tenant is the default one
    PRIMARY KEY (key_id, tenant_id)
  );
  CREATE TABLE IF NOT EXISTS messages (
    id           TEXT PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
    key_id       TEXT NOT NULL,
    phone        TEXT NOT NULL,
    message_type TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS webhook_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    payload     TEXT NOT NULL,
    received_at TEXT NOT NULL
  );
`;

const DEMO_TENANTS = [
  { id: 123, name: 'Acme Trading' },
  { id: 456, name: 'Globex Retail' },
  { id: 789, name: 'Initech Support' },
];

/**
 * Opens the sample app's SQLite file, creating it with the demo tenants on first use. The file
 * holds key hashes and messages: it and its folder are readable by their owner only.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): SampleDatabase {
  const onDisk = path !== ':memory:' && path !== '';
  if (onDisk) createOwnerOnly(path, options.ownsDirectory ?? false);
  const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
  // WAL: readers never wait for the writer, so several processes can share the file.
  whileBusy(() => db.pragma('journal_mode = WAL'));
  db.pragma('foreign_keys = ON');
  db.exec(SCHEMA);
  addMissingKeyColumns(db);
  // SQLite gives the side files it creates the database file's mode; these calls also
  // tighten side files an older version left behind.
  if (onDisk) tightenSideFiles(path);
  const insertTenant = db.prepare('INSERT OR IGNORE INTO tenants (id, name) VALUES (?, ?)');
  for (const tenant of DEMO_TENANTS) insertTenant.run(tenant.id, tenant.name);
  return db;
}

/**
 * Runs `statement` again while another process holds the lock it needs, up to the busy timeout.
 * Switching a new file to WAL fails at once when another process is switching it too: SQLite
 * does not wait the busy timeout there (it would risk a deadlock), so two app instances
 * starting together on a new file would otherwise fail one start in a few dozen.
 */
function whileBusy<T>(statement: () => T): T {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      return statement();
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw error;
      Atomics.wait(RETRY_PAUSE, 0, 0, RETRY_PAUSE_MS);
    }
  }
}

/**
 * Creates the folder (0700) and the database file (0600) with their modes, so neither is ever
 * readable by others, not even until a chmod; then sets the modes of what already existed. The
 * process umask is left alone: it belongs to the whole app.
 */
function createOwnerOnly(path: string, ownsDirectory: boolean): void {
  const folder = dirname(path);
  const created = mkdirSync(folder, { recursive: true, mode: OWNER_ONLY_FOLDER });
  if (created !== undefined || ownsDirectory) chmodSync(folder, OWNER_ONLY_FOLDER);
  closeSync(openSync(path, 'a', OWNER_ONLY_FILE));
  chmodSync(path, OWNER_ONLY_FILE);
  tightenSideFiles(path);
}

function tightenSideFiles(path: string): void {
  for (const suffix of SIDE_FILES) {
    try {
      chmodSync(`${path}${suffix}`, OWNER_ONLY_FILE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}
