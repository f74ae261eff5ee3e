import { Module, type DynamicModule } from '@nestjs/common';
import { openDatabase, type OpenDatabaseOptions, type SampleDatabase } from './database.js';
import { KeyAdmin } from './key-admin.js';
import { KeyRolls } from './key-roll.js';
import { SqliteKeyStore } from './sqlite-key-store.js';
import { SqliteUsageStore } from './usage.js';

/** DI token of the open SQLite database. */
export const DATABASE = Symbol('DATABASE');

/** The sample app's SQLite file and what is built on it: the key store, key admin, key rolls and last-used store. */
@Module({})
export class StoreModule {
  static forDatabase(path: string, options: OpenDatabaseOptions = {}): DynamicModule {
    return {
      module: StoreModule,
      global: true,
      providers: [
        { provide: DATABASE, useFactory: () => openDatabase(path, options) },
        { provide: SqliteKeyStore, inject: [DATABASE], useFactory: (db: SampleDatabase) => new SqliteKeyStore(db) },
        { provide: KeyAdmin, inject: [DATABASE], useFactory: (db: SampleDatabase) => new KeyAdmin(db) },
        { provide: KeyRolls, inject: [DATABASE], useFactory: (db: SampleDatabase) => new KeyRolls(db) },
        { provide: SqliteUsageStore, inject: [DATABASE], useFactory: (db: SampleDatabase) => new SqliteUsageStore(db) },
      ],
      exports: [DATABASE, SqliteKeyStore, KeyAdmin, KeyRolls, SqliteUsageStore],
    };
  }
}
