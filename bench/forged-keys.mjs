// Forged-key flood (part of `npm run bench`): for 10 s, every request carries a new made-up key
// with a valid checksum (the checksum is public), as fast as 32 connections on loopback can
// send them, against a plain Node server behind apiKeyMiddleware whose store answers in 2 ms.
// Meanwhile one good key is sent every 50 ms. Reports the store's calls per second and what the
// good key got, with the default `unknownKeyLookups` budget and with the budget off, and the
// cost of the frozen record snapshot made per lookup. Writes bench/FLOOD.md.
import autocannon from 'autocannon';
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateApiKey, Keyring } from 'nest-keyring';
import { apiKeyMiddleware } from 'nest-keyring/express';
// Internal, for the cost of one snapshot alone: not part of the public API.
import { recordSnapshot } from '../dist/esm/core/record-snapshot.js';

const DURATION_S = Number(process.env.FLOOD_DURATION_S ?? 10);
const STORE_LATENCY_MS = 2;

if (process.argv[2] === 'target') await serve(JSON.parse(process.argv[3]));
else await main();

/** The server under attack: counts store calls per second and reports them on request. */
async function serve({ goodKey, unknownKeyLookups }) {
  const perSecond = new Map();
  const lookup = {
    async findKey(key) {
      const second = Math.floor(performance.now() / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
      await sleep(STORE_LATENCY_MS);
      return key === goodKey ? { id: 'good', tenants: [{ id: 1 }], scopes: ['read'] } : null;
    },
  };
  const keyring = new Keyring({ lookup, unknownKeyLookups, cache: { maxEntries: 1000 } });
  const guard = apiKeyMiddleware(keyring, { logger: { error: () => undefined } });
  const server = http.createServer((request, response) => {
    if (request.url === '/stats') {
      response.end(JSON.stringify([...perSecond.entries()]));
      return;
    }
    guard(request, response, () => response.end('{"ok":true}'));
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
}

async function get(port, path, headers = {}) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode, body }));
      })
      .on('error', reject);
  });
}

async function flood(label, unknownKeyLookups) {
  const goodKey = generateApiKey().key;
  const target = fork(new URL(import.meta.url), ['target', JSON.stringify({ goodKey, unknownKeyLookups })], {
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const { port } = await new Promise((resolve) => target.once('message', resolve));
    await get(port, '/', { authorization: `Bearer ${goodKey}` }); // cached from here on
    const good = { sent: 0, ok: 0, statuses: new Map() };
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const { status } = await get(port, '/', { authorization: `Bearer ${goodKey}` });
        good.sent++;
        if (status === 200) good.ok++;
        good.statuses.set(status, (good.statuses.get(status) ?? 0) + 1);
        await sleep(50);
      }
    })();
    const result = await autocannon({
      url: `http://127.0.0.1:${port}/`,
      connections: 32,
      duration: DURATION_S,
      requests: [
        { setupRequest: (request) => ({ ...request, headers: { authorization: `Bearer ${generateApiKey().key}` } }) },
      ],
    });
    probing = false;
    await probe;
    const seconds = JSON.parse((await get(port, '/stats')).body)
      .map(([, calls]) => calls)
      .slice(1, -1); // whole seconds only: the first and last are partial
    const storeCalls = seconds.reduce((sum, calls) => sum + calls, 0);
    return {
      label,
      forgedPerSecond: Math.round(result.requests.average),
      storeCallsPerSecond: Math.round(storeCalls / Math.max(1, seconds.length)),
      storeCallsPeakSecond: Math.max(0, ...seconds),
      statuses: Object.fromEntries(
        Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]),
      ),
      good: `${good.ok}/${good.sent} answered 200`,
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

async function main() {
  console.log(
    `Forged-key flood: ${DURATION_S} s per run, 32 connections, store latency ${STORE_LATENCY_MS} ms, ` +
      `Node ${process.version}`,
  );
  const runs = [
    await flood('default budget (100/s, burst 500)', undefined),
    await flood('budget off (unknownKeyLookups: false)', false),
  ];
  const snapshot = await snapshotCost();
  const lines = [
    '# Forged-key flood',
    '',
    `Last run: ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} cores ` +
      `(${os.cpus()[0]?.model ?? 'unknown CPU'}).`,
    `For ${DURATION_S} s, 32 connections send a new made-up key with a valid checksum on every request to a plain ` +
      `Node server behind`,
    `\`apiKeyMiddleware\`, whose store answers in ${STORE_LATENCY_MS} ms; one good (cached) key is sent every 50 ms ` +
      `beside them.`,
    '',
    '| Run | Forged requests/s | Store calls/s (mean) | Store calls, busiest second | Answers to forged keys | Good ' +
      'key |',
    '|---|---|---|---|---|---|',
    ...runs.map(
      (run) =>
        `| ${run.label} | ${run.forgedPerSecond} | ${run.storeCallsPerSecond} | ${run.storeCallsPeakSecond} ` +
        `| ${JSON.stringify(run.statuses)} | ${run.good} |`,
    ),
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
  const budgeted = runs[0];
  // The budget must hold: 100/s on average (plus the burst spread over the run, and the lookups in flight).
  const bound = 100 + 500 / Math.max(1, DURATION_S - 2) + 32;
  if (budgeted.storeCallsPerSecond > bound) {
    console.error(
      `FAIL: ${budgeted.storeCallsPerSecond} store calls/s under the default budget (bound ${Math.round(bound)})`,
    );
    process.exitCode = 1;
  }
}
