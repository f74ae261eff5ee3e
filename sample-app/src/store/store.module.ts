import { Module, type DynamicModule } from '@nestjs/common';
import { openDatabase, type OpenDatabaseOptions, type SampleDatabase } from './database.js';
import { KeyAdmin } from './key-admin.js';
import { KeyRolls } from './key-roll.js';
import { signingSecretFor } from './signing-secret.js';
import { SqliteKeyStore } from './sqlite-key-store.js';
import { SqliteUsageStore } from './usage.js';

/** DI token of the open SQLite database. */
export const DATABASE = Symbol('DATABASE');
/** DI token of the secret the app's keys are signed with (see signing-secret.ts). */
export const SIGNING_SECRET = Symbol('SIGNING_SECRET');

/**
 * The sample app's SQLite file and what is built on it: the key signing secret, the key store, key
 * admin, key rolls and last-used store.
 */
@Module({})
export class StoreModule {
  static forDatabase(path: string, options: OpenDatabaseOptions = {}): DynamicModule {
    return {
      module: StoreModule,
      global: true,
      providers: [
        { provide: DATABASE, useFactory: () => openDatabase(path, options) },
        { provide: SqliteKeyStore, inject: [DATABASE], useFactory: (db: SampleDatabase) => new SqliteKeyStore(db) },
        { provide: SIGNING_SECRET, inject: [DATABASE], useFactory: signingSecretFor },
        {
          provide: KeyAdmin,
          inject: [DATABASE, SIGNING_SECRET],
          useFactory: (db: SampleDatabase, secret: string) => new KeyAdmin(db, secret),
        },
        {
          provide: KeyRolls,
          inject: [DATABASE, SIGNING_SECRET],
          useFactory: (db: SampleDatabase, secret: string) => new KeyRolls(db, secret),
        },
        { provide: SqliteUsageStore, inject: [DATABASE], useFactory: (db: SampleDatabase) => new SqliteUsageStore(db) },
      ],
      exports: [DATABASE, SIGNING_SECRET, SqliteKeyStore, KeyAdmin, KeyRolls, SqliteUsageStore],
    };
  }
}
