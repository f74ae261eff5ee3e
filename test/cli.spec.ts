import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { hashApiKey, Keyring, parseApiKey } from '../lib/index.js';
import { CHILD_NODE_OPTIONS } from './support/child-env.js';

// The built CLI, as `npx nest-keyring` runs it (package.json "bin"); `npm test` builds first.
function cli(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  const run = spawnSync(process.execPath, ['dist/esm/cli.js', ...args], {
    input: options.input ?? '',
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: CHILD_NODE_OPTIONS, ...options.env },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('nest-keyring CLI', () => {
  it('generates a production key with its hash and display prefix', () => {
    const run = cli(['generate']);
    expect(run.status).toBe(0);
    const key = /^key: +(\S+)$/m.exec(run.stdout)?.[1] ?? '';
    expect(parseApiKey(key)).toEqual({ environment: 'production', prefix: 'pk_', checksumValid: true });
    expect(run.stdout).toMatch(new RegExp(`^hash: +${hashApiKey(key)}$`, 'm'));
    expect(run.stdout).toMatch(new RegExp(`^display prefix: +${key.slice(0, 7)}…$`, 'm'));
    expect(run.stdout).toContain('Store only the hash.');
  });

  it('generates a staging key as JSON, hashed with a pepper from the environment', () => {
    const run = cli(['generate', '--env', 'staging', '--json', '--pepper-env', 'KEY_PEPPER'], {
      env: { KEY_PEPPER: 'pepper-1' },
    });
    expect(run.status).toBe(0);
    const generated = JSON.parse(run.stdout);
    expect(parseApiKey(generated.key)?.environment).toBe('staging');
    expect(generated.hash).toBe(hashApiKey(generated.key, { pepper: 'pepper-1' }));
  });

  const SECRET = 'cli-signing-secret-0123456789abcdefghijk';
  const verifies = async (key: string, secret: string) => {
    const keyring = new Keyring({
      lookup: { findKey: async () => ({ id: 'k', tenants: [] }) },
      tenancy: false,
      signingSecrets: [secret],
    });
    return (await keyring.authenticate({ 'x-api-key': key })).ok;
  };

  it('signs the key with KEYRING_SIGNING_SECRET, and never prints the secret', async () => {
    const run = cli(['generate'], { env: { KEYRING_SIGNING_SECRET: SECRET } });
    expect(run.status).toBe(0);
    const key = /^key: +(\S+)$/m.exec(run.stdout)?.[1] ?? '';
    expect(run.stdout).toMatch(/^signed: +yes \(KEYRING_SIGNING_SECRET\)$/m);
    expect(await verifies(key, SECRET)).toBe(true);
    expect(await verifies(key, SECRET.replace('cli', 'CLI'))).toBe(false);
    expect(run.stdout + run.stderr).not.toContain(SECRET);
  });

  it('signs with the variable --signing-secret-env names; unsigned without one', async () => {
    const run = cli(['generate', '--json', '--signing-secret-env', 'MY_SECRET'], {
      env: { MY_SECRET: SECRET, KEYRING_SIGNING_SECRET: '' },
    });
    expect(run.status).toBe(0);
    const generated = JSON.parse(run.stdout);
    expect(generated.signed).toBe(true);
    expect(await verifies(generated.key, SECRET)).toBe(true);
    const unsigned = cli(['generate'], { env: { KEYRING_SIGNING_SECRET: '' } });
    expect(unsigned.stdout).toMatch(/^signed: +no/m);
    expect(await verifies(/^key: +(\S+)$/m.exec(unsigned.stdout)?.[1] ?? '', SECRET)).toBe(false);
  });

  it('hashes a key read from standard input', () => {
    const run = cli(['hash'], { input: 'pk_example\n' });
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(hashApiKey('pk_example'));
  });

  it.each<[string, string[], Record<string, string>, RegExp]>([
    ['an unknown environment', ['generate', '--env', 'prod'], {}, /no prefix for environment "prod"/],
    [
      'a pepper variable that is not set',
      ['generate', '--pepper-env', 'NOT_SET_ANYWHERE'],
      {},
      /NOT_SET_ANYWHERE.*not set/,
    ],
    ['an unknown command', ['rotate'], {}, /unknown command "rotate"/],
    [
      'a signing secret variable that is not set',
      ['generate', '--signing-secret-env', 'NOT_SET_ANYWHERE'],
      {},
      /NOT_SET_ANYWHERE \(--signing-secret-env\) is not set/,
    ],
    [
      'a signing secret shorter than 32 characters',
      ['generate'],
      { KEYRING_SIGNING_SECRET: 'too-short-to-sign' },
      /signing secret must be a string of at least 32 characters/,
    ],
  ])('fails with a message for %s', (_, args, env, message) => {
    const run = cli(args, { env });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toContain('too-short-to-sign');
    expect(run.stdout).toBe('');
  });
});
