import { fileURLToPath } from 'node:url';

/** sample-app/data/keyring.sqlite (ignored by git), or the KEYRING_DB environment variable. */
export const DATABASE_PATH = process.env.KEYRING_DB ?? fileURLToPath(new URL('../data/keyring.sqlite', import.meta.url));
