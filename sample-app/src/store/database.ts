import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type SampleDatabase = Database.Database;

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

/** Opens (creating and seeding on first use) the sample app's SQLite file. */
export function openDatabase(path: string): SampleDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.exec(SCHEMA);
  const insertTenant = db.prepare('INSERT OR IGNORE INTO tenants (id, name) VALUES (?, ?)');
  for (const tenant of DEMO_TENANTS) insertTenant.run(tenant.id, tenant.name);
  return db;
}
