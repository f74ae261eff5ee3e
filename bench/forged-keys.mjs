// Forged-key flood (part of `npm run bench`): one anonymous client (127.0.0.1) sends made-up keys
// with a valid checksum (the checksum is public) at FLOOD_RATE per second (default 2,500) for
// FLOOD_DURATION_S (default 30 s), against a plain Node server behind apiKeyMiddleware on default
// budgets, whose store answers in 2 ms and whose cache keeps a found key CACHE_TTL_MS (3 s, so
// that entries expire during the run). Meanwhile another client (127.0.0.2) sends a valid key
// every 20 ms, alternately one used for the first time and one whose cache entry has expired.
// The same valid requests are sent once without the flood, for the baseline.
//
// Reported per key kind: every valid request's status (all must be 200), their p50/p99 latency
// with and without the flood (p99 at most 50 ms above the baseline), the forged requests per
// second actually sent, and the store calls during the flood (for forged keys and valid keys).
// Kinds: unsigned keys; signed keys (`signingSecrets`, `generateApiKey({ signingSecret })`), where
// the build supports them, else that run is reported as skipped. Writes bench/FLOOD.md.
// FLOOD_DURATION_S=3 checks the script quickly; figures for FLOOD.md need a quiet machine.
import autocannon from 'autocannon';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateApiKey, Keyring } from 'nest-keyring';
import { apiKeyMiddleware } from 'nest-keyring/express';
// Internal, for the cost of one snapshot alone: not part of the public API.
import { recordSnapshot } from '../dist/esm/core/keys/record-snapshot.js';

const DURATION_S = Number(process.env.FLOOD_DURATION_S ?? 30);
const FLOOD_RATE = Number(process.env.FLOOD_RATE ?? 2500);
const STORE_LATENCY_MS = 2;
const CACHE_TTL_MS = 3000;
const PROBE_EVERY_MS = 20;
const P99_SLACK_MS = 50;
const VALID_CLIENT = '127.0.0.2';

/** Whether this build signs keys: `signingSecrets` is a known option. */
function signingSupported() {
  try {
    new Keyring({ lookup: { findKey: async () => null }, signingSecrets: [randomBytes(32).toString('base64url')] });
    return true;
  } catch {
    return false;
  }
}

/** The server under attack: counts store calls (forged and valid keys) and reports them on request. */
async function serve({ signingSecret }) {
  const valid = new Set();
  const calls = { forged: 0, valid: 0 };
  const lookup = {
    async findKey(key) {
      calls[valid.has(key) ? 'valid' : 'forged']++;
      await sleep(STORE_LATENCY_MS);
      return valid.has(key) ? { id: key.slice(-12), tenants: [{ id: 1 }], scopes: ['read'] } : null;
    },
  };
  const signing = signingSecret === undefined ? {} : { signingSecrets: [signingSecret] };
  const keyring = new Keyring({ lookup, cache: { ttlMs: CACHE_TTL_MS }, ...signing });
  const guard = apiKeyMiddleware(keyring, { logger: { error: () => undefined } });
  process.on('message', (message) => {
    if (message.valid) for (const key of message.valid) valid.add(key);
    if (message.reset) Object.assign(calls, { forged: 0, valid: 0 });
  });
  const server = http.createServer((request, response) => {
    if (request.url === '/stats') return void response.end(JSON.stringify(calls));
    guard(request, response, () => response.end('{"ok":true}'));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
}

const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function get(port, path, headers = {}, localAddress = VALID_CLIENT) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    http
      .get({ host: '127.0.0.1', port, path, headers, localAddress, agent: probeAgent }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode, body, ms: performance.now() - started }));
      })
      .on('error', reject);
  });
}

function percentile(sorted, p) {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

/**
 * Valid requests for `seconds`, one every 20 ms from 127.0.0.2: even ones with a key never used
 * before, odd ones with a key first used more than CACHE_TTL_MS ago (its entry has expired).
 */
async function probe(port, keys, seconds) {
  const results = [];
  const used = []; // [key, first use time]
  const deadline = performance.now() + seconds * 1000;
  const pending = [];
  for (let i = 0; performance.now() < deadline; i++) {
    const expired = used.length > 0 && performance.now() - used[0][1] > CACHE_TTL_MS + 100;
    const kind = i % 2 === 1 && expired ? 'expired' : 'first use';
    const key = kind === 'expired' ? used.shift()[0] : keys.pop();
    if (key === undefined) throw new Error('ran out of valid keys');
    if (kind === 'first use') used.push([key, performance.now()]);
    pending.push(
      get(port, '/', { authorization: `Bearer ${key}` }).then((answer) => results.push({ kind, ...answer })),
    );
    await sleep(PROBE_EVERY_MS);
  }
  await Promise.all(pending);
  const ms = results.map((result) => result.ms).sort((a, b) => a - b);
  const statuses = {};
  for (const { kind, status } of results) statuses[`${kind} ${status}`] = (statuses[`${kind} ${status}`] ?? 0) + 1;
  return {
    sent: results.length,
    ok: results.filter((r) => r.status === 200).length,
    statuses,
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
  };
}

/** The anonymous client: made-up keys, a valid checksum and, for signed keys, a tag made with another secret. */
async function floodFrom({ port, signed }) {
  const attackerSecret = randomBytes(32).toString('base64url');
  const forge = () => generateApiKey(signed ? { signingSecret: attackerSecret } : {}).key;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections: 32,
    overallRate: FLOOD_RATE,
    duration: DURATION_S,
    requests: [{ setupRequest: (request) => ({ ...request, headers: { authorization: `Bearer ${forge()}` } }) }],
  });
  const statuses = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]),
  );
  process.send({ perSecond: Math.round(result.requests.average), statuses }, () => process.exit(0));
}

async function run(label, signingSecret) {
  const target = fork(new URL(import.meta.url), ['target', JSON.stringify({ signingSecret })], {
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const { port } = await new Promise((resolve) => target.once('message', resolve));
    const issue = () => generateApiKey(signingSecret === undefined ? {} : { signingSecret }).key;
    const count = Math.ceil(((DURATION_S + 2) * 1000) / PROBE_EVERY_MS) * 2 + 100;
    const keys = Array.from({ length: count }, issue);
    target.send({ valid: keys });
    const baseline = await probe(port, keys, DURATION_S);
    await sleep(CACHE_TTL_MS + 200); // baseline keys expire, budgets refill
    target.send({ reset: true });
    // In a process of its own, so that making keys up takes no time from the valid client's loop.
    const flooder = fork(
      new URL(import.meta.url),
      ['flooder', JSON.stringify({ port, signed: signingSecret !== undefined })],
      {
        env: { ...process.env, NODE_OPTIONS: '' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    const flooding = new Promise((resolve) => flooder.once('message', resolve));
    await sleep(500); // the flood has spent its budget before the first valid request
    const during = await probe(port, keys, DURATION_S - 1);
    const flood = await flooding;
    flooder.kill();
    const calls = JSON.parse((await get(port, '/stats')).body);
    return {
      label,
      forgedPerSecond: flood.perSecond,
      forgedStatuses: flood.statuses,
      storeCalls: calls,
      baseline,
      during,
    };
  } finally {
    target.kill();
  }
}

/** What the frozen snapshot of a record costs, once per lookup (never on a cache hit). */
async function snapshotCost() {
  const record = {
    id: 'key_1',
    tenants: [
      { id: 1, name: 'Acme' },
      { id: 2, name: 'Beta' },
    ],
    scopes: ['messages:send', 'messages:read'],
    metadata: { plan: 'pro' },
  };
  const keys = Array.from({ length: 20_000 }, () => generateApiKey().key);
  const timed = async (cache) => {
    const keyring = new Keyring({ lookup: { findKey: async () => record }, cache, unknownKeyLookups: false });
    const started = performance.now();
    for (const key of keys) await keyring.authenticate({ 'x-api-key': key });
    return ((performance.now() - started) * 1000) / keys.length;
  };
  const cold = await timed({ maxEntries: 100_000 });
  const hitKeyring = new Keyring({ lookup: { findKey: async () => record }, unknownKeyLookups: false });
  await hitKeyring.authenticate({ 'x-api-key': keys[0] });
  const started = performance.now();
  for (let i = 0; i < 200_000; i++) hitKeyring.authenticate({ 'x-api-key': keys[0] });
  const hit = ((performance.now() - started) * 1000) / 200_000;
  const copyStarted = performance.now();
  for (let i = 0; i < 200_000; i++) recordSnapshot(record, 'production');
  const copy = ((performance.now() - copyStarted) * 1000) / 200_000;
  return { cold, hit, copy };
}

const ms = (value) => `${value.toFixed(1)} ms`;

async function main() {
  console.log(
    `Forged-key flood: ${DURATION_S} s per run at ${FLOOD_RATE} forged keys/s, store latency ${STORE_LATENCY_MS} ms, ` +
      `Node ${process.version}`,
  );
  const runs = [await run('unsigned keys', undefined)];
  const signed = signingSupported();
  if (signed) runs.push(await run('signed keys', randomBytes(32).toString('base64url')));
  const snapshot = await snapshotCost();
  const verdicts = runs.map((r) => {
    const allOk = r.during.ok === r.during.sent && r.baseline.ok === r.baseline.sent;
    const p99Ok = r.during.p99 <= r.baseline.p99 + P99_SLACK_MS;
    const rateOk = r.forgedPerSecond >= 2000;
    return { allOk, p99Ok, rateOk, met: allOk && p99Ok && rateOk };
  });
  const lines = [
    '# Forged-key flood',
    '',
    `Last run: ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} cores ` +
      `(${os.cpus()[0]?.model ?? 'unknown CPU'}).`,
    `For ${DURATION_S} s one client (127.0.0.1) sends made-up keys with a valid checksum at up to ${FLOOD_RATE}/s`,
    `(32 connections) to a plain Node server behind \`apiKeyMiddleware\` on the default budgets, whose store`,
    `answers in ${STORE_LATENCY_MS} ms, with \`cache.ttlMs\` ${CACHE_TTL_MS} ms. Meanwhile another client (127.0.0.2)`,
    `sends a valid key every ${PROBE_EVERY_MS} ms: alternately one used for the first time and one whose cache entry`,
    'has expired.',
    'The same valid requests without the flood are the baseline. Signed keys: the forged keys carry a tag made',
    'with another secret.',
    '',
    '| Keys | Forged requests/s | Answers to forged keys | Store calls for forged keys | Store calls for valid keys ' +
      '| Valid requests answered 200 | Valid p50 / p99, baseline | Valid p50 / p99, flood | Target |',
    '|---|---|---|---|---|---|---|---|---|',
    ...runs.map(
      (r, i) =>
        `| ${r.label} | ${r.forgedPerSecond} | ${JSON.stringify(r.forgedStatuses)} | ${r.storeCalls.forged} ` +
        `| ${r.storeCalls.valid} | ${r.during.ok}/${r.during.sent} (${JSON.stringify(r.during.statuses)}) ` +
        `| ${ms(r.baseline.p50)} / ${ms(r.baseline.p99)} | ${ms(r.during.p50)} / ${ms(r.during.p99)} ` +
        `| ${verdicts[i].met ? 'met' : 'missed'} |`,
    ),
    ...(signed ? [] : ['| signed keys | skipped: this build has no `signingSecrets` | | | | | | | |']),
    '',
    `Target: every valid request answers 200, with p99 at most ${P99_SLACK_MS} ms above the baseline, while at least`,
    '2,000 forged keys arrive per second.',
    '',
    `Record snapshot (a frozen copy made once per store answer, for a record with two tenants, two scopes and ` +
      `metadata):`,
    `${snapshot.copy.toFixed(2)} µs per snapshot; \`authenticate\` with a cache miss every ` +
      `time ${snapshot.cold.toFixed(2)} µs per key`,
    `(lookup, snapshot, cache insert); a cache hit ${snapshot.hit.toFixed(2)} µs, with no copy: every hit shares the ` +
      `snapshot.`,
    '',
  ];
  console.log(lines.join('\n'));
  writeFileSync(new URL('./FLOOD.md', import.meta.url), lines.join('\n'));
  probeAgent.destroy();
  runs.forEach((r, i) => {
    const { allOk, p99Ok, rateOk } = verdicts[i];
    if (!allOk) console.error(`FAIL (${r.label}): a valid request was not answered 200`);
    if (!p99Ok)
      console.error(`FAIL (${r.label}): p99 ${ms(r.during.p99)} against ${ms(r.baseline.p99)} without the flood`);
    if (!rateOk) console.error(`MISSED (${r.label}): only ${r.forgedPerSecond} forged keys/s were sent`);
    if (!allOk || !p99Ok) process.exitCode = 1;
  });
}

if (process.argv[2] === 'target') await serve(JSON.parse(process.argv[3]));
else if (process.argv[2] === 'flooder') await floodFrom(JSON.parse(process.argv[3]));
else await main();
