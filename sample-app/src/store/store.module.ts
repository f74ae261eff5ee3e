import { Module, type DynamicModule } from '@nestjs/common';
import { openDatabase, type OpenDatabaseOptions, type SampleDatabase } from './database.js';
import { KeyAdmin } from './key-admin.js';
import { SqliteKeyStore } from './sqlite-key-store.js';

/** DI token of the open SQLite database. */
export const DATABASE = Symbol('DATABASE');

/** The sample app's SQLite file and what is built on it: the key store and key admin. */
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
      ],
      exports: [DATABASE, SqliteKeyStore, KeyAdmin],
    };
  }
}
