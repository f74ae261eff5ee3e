#!/usr/bin/env node
// nest-keyring's command line: issue keys and hash existing ones, without writing any code.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateApiKey } from './core/api-key-generator.js';
import { hashApiKey } from './core/api-key-hash.js';

const USAGE = `Usage:
  nest-keyring generate [--env production|staging] [--pepper-env VAR] [--json]
      Prints a new key, the hash to store and a display prefix.
  nest-keyring hash [--pepper-env VAR] < key.txt
      Prints the hash of the key read from standard input.

  --env         the key's environment (default: production; pk_ production, sk_ staging)
  --pepper-env  name of an environment variable holding the server-side pepper; the pepper
                itself is never taken as an argument, so it stays out of shell history
  --json        print JSON instead of text`;

function pepperFrom(variable: string | undefined): string | undefined {
  if (variable === undefined) return undefined;
  const pepper = process.env[variable];
  if (!pepper) throw new Error(`environment variable ${variable} (--pepper-env) is not set or empty`);
  return pepper;
}

function main(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      env: { type: 'string', default: 'production' },
      'pepper-env': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return;
  }
  const pepper = pepperFrom(values['pepper-env']);
  if (command === 'generate') {
    const generated = generateApiKey({ environment: values.env, pepper });
    if (values.json) {
      console.log(JSON.stringify(generated, null, 2));
      return;
    }
    console.log(
      [
        `key:            ${generated.key}`,
        `hash:           ${generated.hash}`,
        `display prefix: ${generated.displayPrefix}`,
        `environment:    ${generated.environment}`,
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
    console.log(values.json ? JSON.stringify({ hash }) : hash);
    return;
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
