// The sample app as a fleet (part of `npm run bench`): a throw-away redis-server on a free loopback
// port and compiled sample-app processes on one database file. Measures how long a key revoked
// through one replica keeps working in the other (from the DELETE's answer to the other's first
// refusal, polled back to back). What a rate limit in Redis costs a request is measured by
// bench/run.mjs, inside one process. Writes bench/FLEET.md and bench/dist/fleet.json. Skips
// (loudly, exit 0) where redis-server is not installed.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../sample-app/dist/store/database.js';
import { KeyAdmin } from '../sample-app/dist/store/key-admin.js';

const REVOCATIONS = Number(process.env.FLEET_REVOCATIONS ?? 50);
/** Past the sample app's cache TTL (5 s): a revocation not seen by then is a failure of the bus. */
const GIVE_UP_MS = 6_000;
/** The whole run, whatever happens: everything started is stopped by then. */
const DEADLINE_MS = 5 * 60_000;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const redisServer = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
if (!redisServer) {
  console.warn(
    '\n*** SKIPPED bench/fleet.mjs: no redis-server on this machine. ' +
      'Install it (Debian: apt-get install -y redis-server) for the fleet figures. ***\n',
  );
  process.exit(0);
}

const started = [];
const directory = mkdtempSync(join(os.tmpdir(), 'keyring-fleet-bench-'));
const cleanUp = () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(directory, { recursive: true, force: true });
};
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
setTimeout(() => {
  console.error(`FAIL: bench/fleet.mjs did not finish within ${DEADLINE_MS / 1000} s`);
  process.exit(1);
}, DEADLINE_MS).unref();

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

const answersPing = (port) =>
  new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });

async function startRedis() {
  const port = await freePort();
  const child = spawn(
    redisServer,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  started.push(child);
  for (let attempt = 0; !(await answersPing(port)); attempt++) {
    if (attempt > 200) throw new Error(`redis-server did not answer on port ${port}`);
    await sleep(25);
  }
  return `redis://127.0.0.1:${port}`;
}

/** A compiled sample app on a port of its own; resolves once it printed its demo keys. */
async function startApp(name, database, redisUrl) {
  const port = await freePort();
  const env = { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1', PORT: String(port), KEYRING_DB: database };
  delete env.REDIS_URL;
  if (redisUrl) env.REDIS_URL = redisUrl;
  const child = spawn(process.execPath, ['sample-app/dist/main.js'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const deadline = Date.now() + 30_000;
  while (!/^ {2}staging +\S+/m.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`sample app ${name} did not start:\n${output}`);
    await sleep(50);
  }
  return { name, port, admin: /^ {2}production +(pk_\S+)/m.exec(output)[1], output: () => output };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
function call(app, method, path, headers) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port: app.port, method, path, headers, agent }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode));
    });
    request.on('error', reject);
    request.end();
  });
}
const me = (app, key) => call(app, 'GET', '/api/v1/me', { 'x-api-key': key });

/** Revokes `key` through `from` (both have it cached); ms from the DELETE's answer to `to`'s first refusal. */
async function revocationLatency(from, to, { key, row }) {
  const warm = [await me(from, key), await me(to, key)];
  if (warm.some((status) => status !== 200)) throw new Error(`a new key was refused before its revocation: ${warm}`);
  const status = await call(from, 'DELETE', `/api/v1/keys/${row.id}`, { authorization: `Bearer ${from.admin}` });
  const answeredAt = performance.now();
  if (status !== 200) throw new Error(`DELETE answered ${status}`);
  for (;;) {
    const refused = (await me(to, key)) !== 200;
    const elapsed = performance.now() - answeredAt;
    if (refused || elapsed > GIVE_UP_MS) return elapsed;
  }
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function main() {
  const database = join(directory, 'fleet.sqlite');
  const redisUrl = await startRedis();
  // A and B: one fleet behind Redis.
  const a = await startApp('A', database, redisUrl);
  const b = await startApp('B', database, redisUrl);
  const admin = new KeyAdmin(openDatabase(database));
  const create = () => admin.create({ environment: 'production', tenantIds: [123], scopes: ['messages:read'] });

  console.log(`Fleet: revocation across two replicas (${REVOCATIONS} keys), Node ${process.version}`);
  const latencies = [];
  for (let i = 0; i < REVOCATIONS; i++) {
    const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
    latencies.push(await revocationLatency(from, to, create()));
  }
  latencies.sort((x, y) => x - y);
  const revocation = {
    p50Ms: Number(percentile(latencies, 50).toFixed(1)),
    p99Ms: Number(percentile(latencies, 99).toFixed(1)),
    maxMs: Number(latencies.at(-1).toFixed(1)),
    samples: latencies.length,
  };
  console.log(`  p50 ${revocation.p50Ms} ms, p99 ${revocation.p99Ms} ms, max ${revocation.maxMs} ms`);

  for (const app of [a, b]) {
    if (/\bERROR\b|\bWARN\b/.test(app.output())) throw new Error(`sample app ${app.name} logged:\n${app.output()}`);
  }

  const when = new Date().toISOString();
  const lines = [
    '# The sample app as a fleet',
    '',
    `Last run: ${when}, Node ${process.version}, ${os.cpus().length} cores ` +
      `(${os.cpus()[0]?.model ?? 'unknown CPU'}).`,
    'Everything on one machine, on loopback: a redis-server and compiled sample-app processes',
    '(`node sample-app/dist/main.js`) on one SQLite file; `node bench/fleet.mjs`.',
    '',
    '## Revocation across replicas',
    '',
    `Two replicas with \`REDIS_URL\`. ${REVOCATIONS} keys, each used once on both replicas (cached there), then ` +
      'revoked with',
    '`DELETE /api/v1/keys/:id` on one of them (alternately); timed from that answer to the first refusal by the',
    'other, which is polled back to back. Without Redis the other replica would refuse only when its cache entry',
    'expires (5 s in the sample app).',
    '',
    '| Revocations | p50 | p99 | max |',
    '|---|---|---|---|',
    `| ${revocation.samples} | ${revocation.p50Ms} ms | ${revocation.p99Ms} ms | ${revocation.maxMs} ms |`,
    '',
  ];
  writeFileSync(new URL('./FLEET.md', import.meta.url), lines.join('\n'));
  mkdirSync(new URL('./dist/', import.meta.url), { recursive: true });
  const json = { revocation, node: process.version, when };
  writeFileSync(new URL('./dist/fleet.json', import.meta.url), `${JSON.stringify(json, null, 2)}\n`);
  console.log('Fleet: wrote bench/FLEET.md');
  if (revocation.p99Ms > 1_000) {
    console.error(`FAIL: revocation p99 ${revocation.p99Ms} ms across replicas (bound 1000 ms)`);
    process.exitCode = 1;
  }
}

try {
  await main();
} catch (error) {
  console.error(`FAIL: bench/fleet.mjs: ${error instanceof Error ? error.stack : error}`);
  process.exitCode = 1;
} finally {
  agent.destroy();
  cleanUp();
}
