import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import type { SampleDatabase } from './database.js';

/** The file beside a database that holds the secret its keys are signed with. */
export function signingSecretPath(databasePath: string): string {
  return `${databasePath}.signing-secret`;
}

let inMemorySecret: string | undefined;

const newSecret = () => randomBytes(32).toString('base64url');

function readSecret(path: string): string {
  const secret = readFileSync(path, 'utf8').trim();
  if (secret.length < 32) {
    throw new Error(
      `${path} holds no signing secret of 32 characters or more: delete it or set KEYRING_SIGNING_SECRET`,
    );
  }
  return secret;
}

/**
 * The secret that signs the app's keys (the keyring's `signingSecrets`): KEYRING_SIGNING_SECRET
 * when set, else the one kept beside the database, made on first use (readable by its owner
 * only). So every instance on one database, and the keys command, sign and verify alike.
 */
export function signingSecretFor(db: SampleDatabase): string {
  if (process.env.KEYRING_SIGNING_SECRET) return process.env.KEYRING_SIGNING_SECRET;
  if (db.memory) return (inMemorySecret ??= newSecret());
  const path = signingSecretPath(db.name);
  try {
    return readSecret(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // Written whole under a name of our own, then linked into place, which fails if the file exists:
  // of two instances starting at once, one creates it and both read the same secret.
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`;
  writeFileSync(temporary, `${newSecret()}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  return readSecret(path);
}
