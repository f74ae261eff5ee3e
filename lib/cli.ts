#!/usr/bin/env node
// nest-keyring's command line: issue keys and hash existing ones, without writing any code.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateApiKey } from './core/keys/api-key-generator.js';
import { hashApiKey } from './core/keys/api-key-hash.js';

const USAGE = `Usage:
  nest-keyring generate [--env production|staging] [--pepper-env VAR] [--signing-secret-env VAR] [--json]
      Prints a new key, the hash to store and a display prefix.
  nest-keyring hash [--pepper-env VAR] < key.txt
      Prints the hash of the key read from standard input.

  --env         the key's environment (default: production; pk_ production, sk_ staging)
  --pepper-env  name of an environment variable holding the server-side pepper; the pepper
                itself is never taken as an argument, so it stays out of shell history
  --signing-secret-env  name of an environment variable holding the secret that signs the key
                (the first of the app's signingSecrets); default KEYRING_SIGNING_SECRET, if set
  --json        print JSON instead of text`;

function secretFrom(variable: string | undefined, flag: string): string | undefined {
  if (variable === undefined) return undefined;
  const secret = process.env[variable];
  if (!secret) throw new Error(`environment variable ${variable} (${flag}) is not set or empty`);
  return secret;
}

function main(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      env: { type: 'string', default: 'production' },
      'pepper-env': { type: 'string' },
      'signing-secret-env': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command] = positionals;
  if (values.help || command === undefined) return console.log(USAGE);
  const pepper = secretFrom(values['pepper-env'], '--pepper-env');
  if (command === 'generate') {
    const signingVariable =
      values['signing-secret-env'] ?? (process.env.KEYRING_SIGNING_SECRET ? 'KEYRING_SIGNING_SECRET' : undefined);
    const signingSecret = secretFrom(signingVariable, '--signing-secret-env');
    const generated = {
      ...generateApiKey({ environment: values.env, pepper, signingSecret }),
      signed: !!signingSecret,
    };
    if (values.json) return console.log(JSON.stringify(generated, null, 2));
    console.log(
      [
        `key:            ${generated.key}`,
        `hash:           ${generated.hash}`,
        `display prefix: ${generated.displayPrefix}`,
        `environment:    ${generated.environment}`,
        `signed:         ${signingVariable ? `yes (${signingVariable})` : 'no (set KEYRING_SIGNING_SECRET to sign)'}`,
        '',
        'Give the key to its owner now; it cannot be shown again. Store only the hash.',
      ].join('\n'),
    );
    return;
  }
  if (command === 'hash') {
    const key = readFileSync(0, 'utf8').trim();
    if (key.length === 0) throw new Error('no key on standard input');
    const hash = hashApiKey(key, { pepper });
    return console.log(values.json ? JSON.stringify({ hash }) : hash);
  }
  throw new Error(`unknown command "${command}"\n\n${USAGE}`);
}

try {
  main(process.argv.slice(2));
} catch (error) {
  console.error(
    `nest-keyring: ${error instanceof Error ? error.message.replace(/^nest-keyring: /, '') : String(error)}`,
  );
  process.exitCode = 1;
}
