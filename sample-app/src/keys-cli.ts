// npm run keys -- create|list|revoke|roll: key administration on the sample app's SQLite file.
import { parseArgs } from 'node:util';
import { DATABASE_OPTIONS, DATABASE_PATH } from './database-path.js';
import { formatRateLimit, parseOverlap, parseRateLimit } from './duration.js';
import { KEY_CACHE_TTL_MS } from './key-cache.js';
import { openDatabase } from './store/database.js';
import { KeyAdmin, type KeyRow } from './store/key-admin.js';
import { KeyRolls } from './store/key-roll.js';

const USAGE = [
  'Usage: npm run keys -- <command>',
  '  create --tenants 123,456 [--env production|staging (default production)] ' +
    '[--scopes messages:send,messages:read] [--label NAME] [--expires 2027-01-31T00:00:00Z] [--rate-limit 5/1s]',
  '  list   every key: active, expires <time>, expired <time> or revoked <time>',
  '  revoke <key id>',
  '  roll <key id> [--overlap 24h]   a new key for the same tenants; the old one works for the overlap',
].join('\n');

function describe(row: KeyRow, now = Date.now()): string {
  const state = row.revoked_at
    ? `revoked ${row.revoked_at}`
    : row.expires_at
      ? `${Date.parse(row.expires_at) > now ? 'expires' : 'expired'} ${row.expires_at}`
      : 'active';
  return (
    `${row.id}  ${row.display_prefix.padEnd(9)} ${row.environment.padEnd(10)} ` +
    `tenants ${row.tenant_ids.join(',') || '-'}  scopes ${row.scopes.join(',') || '-'}  ` +
    `${state}${row.rate_limit ? `  rate limit ${formatRateLimit(row.rate_limit)}` : ''}` +
    `${row.last_used_at ? `  last used ${row.last_used_at}` : ''}${row.label ? `  (${row.label})` : ''}`
  );
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      env: { type: 'string', default: 'production' },
      tenants: { type: 'string' },
      scopes: { type: 'string', default: '' },
      label: { type: 'string' },
      expires: { type: 'string' },
      'rate-limit': { type: 'string' },
      overlap: { type: 'string', default: '24h' },
    },
  });
  const [command, id] = positionals;
  if (values.help || command === 'help') {
    console.log(USAGE);
    return;
  }
  const db = openDatabase(DATABASE_PATH, DATABASE_OPTIONS);
  // Signs with the app's secret: KEYRING_SIGNING_SECRET, or the one kept beside the database.
  const admin = new KeyAdmin(db);
  switch (command) {
    case 'create': {
      if (!values.tenants) throw new Error('create needs --tenants, the tenant ids the key acts for (such as 123,456)');
      if (values.env !== 'production' && values.env !== 'staging')
        throw new Error('--env must be production or staging');
      const tenantIds = values.tenants.split(',').filter(Boolean).map(Number);
      if (tenantIds.some((tenantId) => !Number.isInteger(tenantId)))
        throw new Error('--tenants takes tenant ids such as 123,456');
      const expiresAt = values.expires === undefined ? undefined : new Date(values.expires);
      if (expiresAt && Number.isNaN(expiresAt.getTime()))
        throw new Error('--expires takes a date such as 2027-01-31T00:00:00Z');
      const rateLimit = values['rate-limit'] === undefined ? undefined : rateLimitOption(values['rate-limit']);
      const { key, row } = admin.create({
        environment: values.env,
        tenantIds,
        scopes: values.scopes.split(',').filter(Boolean),
        label: values.label,
        expiresAt,
        rateLimit,
      });
      console.log(`${describe(row)}\n\nkey: ${key}\nShown once: only its hash is stored.`);
      return;
    }
    case 'list':
      for (const row of admin.list()) console.log(describe(row));
      return;
    case 'revoke': {
      if (!id) throw new Error('revoke takes a key id (see list)');
      if (!admin.revoke(id)) throw new Error(`no active key ${id}`);
      console.log(
        `Revoked ${id}. This is another process than the app: a running app refuses the key within ` +
          `${KEY_CACHE_TTL_MS / 1000} s (its cache TTL). DELETE /api/v1/keys/${id} with a keys:admin key of the same ` +
          `environment and tenants revokes it in the app at once.`,
      );
      return;
    }
    case 'roll': {
      if (!id) throw new Error('roll takes a key id (see list)');
      const overlapMs = overlapOption(values.overlap);
      const rolled = new KeyRolls(db).roll(id, overlapMs);
      if (rolled === undefined) throw new Error(`no active key ${id}`);
      console.log(
        `${describe(rolled.row)}\n\nkey: ${rolled.key}\nShown once: only its hash is stored.\n\n` +
          `${id} keeps working until ${rolled.oldExpiresAt.toISOString()}. A running app sees the new end within ` +
          `${KEY_CACHE_TTL_MS / 1000} s (its cache TTL); POST /api/v1/keys/${id}/roll rolls it in the app at once.`,
      );
      return;
    }
    default:
      throw new Error(command === undefined ? 'no command given' : `unknown command ${command}`);
  }
}

function rateLimitOption(text: string) {
  try {
    return parseRateLimit(text);
  } catch (error) {
    throw new Error(`--rate-limit: ${(error as Error).message}`, { cause: error });
  }
}

function overlapOption(text: string) {
  try {
    return parseOverlap(text);
  } catch (error) {
    throw new Error(`--overlap: ${(error as Error).message}`, { cause: error });
  }
}

try {
  main();
} catch (error) {
  console.error(`keys: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
  process.exitCode = 1;
}
