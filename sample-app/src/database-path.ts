import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenDatabaseOptions } from './store/database.js';

/** sample-app/data/keyring.sqlite (ignored by git): the app's own data folder. */
const DEFAULT_DATABASE_PATH = fileURLToPath(new URL('../data/keyring.sqlite', import.meta.url));

/** sample-app/data/keyring.sqlite, or the KEYRING_DB environment variable. */
export const DATABASE_PATH = process.env.KEYRING_DB ?? DEFAULT_DATABASE_PATH;

/**
 * The app's own data folder is made readable by its owner only at start-up, also when an older
 * version created it open to everyone. A folder named through KEYRING_DB is the user's and may
 * hold other things: only the database files in it are tightened (and the folder itself only if
 * the app creates it).
 */
export const DATABASE_OPTIONS: OpenDatabaseOptions = {
  ownsDirectory: dirname(resolve(DATABASE_PATH)) === dirname(DEFAULT_DATABASE_PATH),
};
