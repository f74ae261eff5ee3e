// Load test (issue 8, part of `npm run bench`, not `npm test`): 10 s of mixed traffic on
// loopback against a Nest app behind @ApiKeyAuth(): valid keys across several tenants, a key
// revoked mid-run, random checksum-valid keys, malformed keys, and cross-tenant requests.
// Fails (exit 1) on any grant to a revoked key after its revocation was acknowledged, any grant
// to a random or malformed key, any answer for the wrong tenant, or heap growth past the bound.
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { generateApiKey } from 'nest-keyring';

const DURATION_MS = Number(process.env.LOAD_DURATION_MS ?? 10_000);
const CONNECTIONS = 32;
const HEAP_GROWTH_LIMIT_MB = 32;

const tenantKeys = Array.from({ length: 8 }, (_, i) => ({
  key: generateApiKey().key,
  id: `key_${i}`,
  tenants: [100 + i, 200 + i],
}));
const victim = { key: generateApiKey().key, id: 'key_victim', tenants: [900] };

const target = fork(new URL('./dist/load-target.js', import.meta.url), [], {
  execArgv: ['--expose-gc'],
  env: { ...process.env, NODE_OPTIONS: '', LOAD_KEYS: JSON.stringify([...tenantKeys, victim]) },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const stop = () => target.connected && target.kill();
process.on('exit', stop);
const port = await new Promise((resolve, reject) => {
  target.once('message', (message) => resolve(message.port));
  target.once('exit', (code) => reject(new Error(`load target exited (${code}) before it was ready`)));
});

const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
function call(method, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body: body ? JSON.parse(body) : undefined }));
    });
    request.on('error', reject);
    request.end();
  });
}

const counts = { requests: 0, granted: 0, refused: 0 };
const violations = [];
let revokedAt; // when the revocation was acknowledged
const pick = (list) => list[Math.floor(Math.random() * list.length)];
const garbage = () =>
  pick([
    'Bearer',
    `Bearer ${'x'.repeat(300)}`,
    'Basic dXNlcjpwYXNz',
    `Bearer pk_${Math.random().toString(36)}`,
    'Bearer pk_"x"',
  ]);

async function one() {
  const kind = Math.random();
  const sentAt = performance.now();
  let expectation;
  let headers;
  if (kind < 0.5) {
    const owner = pick(tenantKeys);
    const tenant = Math.random() < 0.5 ? pick(owner.tenants) : undefined;
    headers = {
      authorization: `Bearer ${owner.key}`,
      ...(tenant === undefined ? {} : { 'x-tenant-id': String(tenant) }),
    };
    expectation = { kind: 'valid', keyId: owner.id, tenantId: tenant ?? owner.tenants[0] };
  } else if (kind < 0.6) {
    const owner = pick(tenantKeys);
    const stranger = pick(tenantKeys.filter((other) => other !== owner));
    headers = { 'x-api-key': owner.key, 'x-tenant-id': String(pick(stranger.tenants)) };
    expectation = { kind: 'cross-tenant' };
  } else if (kind < 0.7) {
    headers = { authorization: `Bearer ${victim.key}` };
    expectation = { kind: 'victim' };
  } else if (kind < 0.85) {
    headers = { authorization: `Bearer ${generateApiKey().key}` };
    expectation = { kind: 'random' };
  } else {
    headers = { authorization: garbage() };
    expectation = { kind: 'malformed' };
  }
  const { status, body } = await call('GET', '/whoami', headers);
  counts.requests++;
  counts[status === 200 ? 'granted' : 'refused']++;
  const fail = (why) => violations.length < 20 && violations.push({ why, expectation, status, body });
  switch (expectation.kind) {
    case 'valid':
      if (status !== 200) fail('valid key refused');
      else if (
        body.keyId !== expectation.keyId ||
        body.tenantId !== expectation.tenantId ||
        body.contextTenantId !== expectation.tenantId
      )
        fail('wrong key or tenant');
      break;
    case 'cross-tenant':
      if (status !== 403) fail('cross-tenant request not refused 403');
      break;
    case 'victim':
      if (status === 200 && revokedAt !== undefined && sentAt > revokedAt)
        fail('revoked key granted after the revocation was acknowledged');
      if (status === 200) counts.victimGrantedBeforeRevocation = (counts.victimGrantedBeforeRevocation ?? 0) + 1;
      else counts.victimRefused = (counts.victimRefused ?? 0) + 1;
      break;
    case 'random':
      // Unknown keys past the unknownKeyLookups budget (100/s by default) are answered 503 without
      // a lookup: a refusal too, and the one the budget is for.
      if (status === 503 && body?.error?.code === 'KEY_STORE_UNAVAILABLE')
        counts.randomThrottled = (counts.randomThrottled ?? 0) + 1;
      else if (status !== 401) fail('random key refused neither 401 nor 503 (lookups throttled)');
      else counts.randomRefused = (counts.randomRefused ?? 0) + 1;
      break;
    default:
      if (status !== 401) fail(`${expectation.kind} key not refused 401`);
  }
}

async function worker(until) {
  while (performance.now() < until) await one();
}

// Warm-up, then the heap baseline.
await Promise.all(Array.from({ length: CONNECTIONS }, () => worker(performance.now() + 2000)));
const before = (await call('GET', '/test-hooks/heap')).body;
Object.assign(counts, {
  requests: 0,
  granted: 0,
  refused: 0,
  victimGrantedBeforeRevocation: 0,
  victimRefused: 0,
  randomRefused: 0,
  randomThrottled: 0,
});

const start = performance.now();
const end = start + DURATION_MS;
const revocation = (async () => {
  await new Promise((resolve) => setTimeout(resolve, DURATION_MS / 2));
  await call('POST', `/test-hooks/revoke/${victim.id}`);
  revokedAt = performance.now();
})();
await Promise.all([...Array.from({ length: CONNECTIONS }, () => worker(end)), revocation]);
const elapsed = (performance.now() - start) / 1000;
const after = (await call('GET', '/test-hooks/heap')).body;
stop();

const growthMb = (after.heapUsed - before.heapUsed) / 2 ** 20;
if (growthMb > HEAP_GROWTH_LIMIT_MB)
  violations.push({ why: `heap grew ${growthMb.toFixed(1)} MB (limit ${HEAP_GROWTH_LIMIT_MB})` });
const summary = [
  '# Load test',
  '',
  `Written by \`node bench/load-test.mjs\` (part of \`npm run bench\`) ` +
    `on ${new Date().toISOString()}: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}.`,
  '',
  `${CONNECTIONS} concurrent keep-alive connections for ${elapsed.toFixed(1)} s against a Nest 12 app behind ` +
    `\`@ApiKeyAuth()\` (global), in-memory hashed store, default cache: 50 % valid keys over 8 keys × 2 tenants ` +
    `(half naming a tenant), 10 % cross-tenant requests, 10 % a key revoked half-way through, 15 % random ` +
    `checksum-valid keys, 15 % malformed credentials.`,
  '',
  '| measure | value |',
  '|---|---:|',
  `| requests | ${counts.requests} (${Math.round(counts.requests / elapsed)}/s) |`,
  `| granted / refused | ${counts.granted} / ${counts.refused} |`,
  `| revoked key: granted before its revocation / refused | ${counts.victimGrantedBeforeRevocation} ` +
    `/ ${counts.victimRefused} |`,
  `| random keys: refused 401 after a lookup / 503 once unknown keys spent their lookup budget | ` +
    `${counts.randomRefused} / ${counts.randomThrottled} |`,
  `| violations (grants after revocation, to random or malformed keys, wrong-tenant answers) | ${violations.length} |`,
  `| heap after gc: before → after | ${(before.heapUsed / 2 ** 20).toFixed(1)} MB ` +
    `→ ${(after.heapUsed / 2 ** 20).toFixed(1)} MB (${growthMb >= 0 ? '+' : ''}${growthMb.toFixed(1)} MB; ` +
    `cache ${before.cacheSize} → ${after.cacheSize} entries) |`,
  '',
  violations.length === 0
    ? 'Result: **pass**.'
    : `Result: **FAIL**\n\n\`\`\`\n${JSON.stringify(violations, null, 2)}\n\`\`\``,
  '',
].join('\n');
writeFileSync(new URL('./LOAD.md', import.meta.url), summary);
console.log(summary);
process.exitCode = violations.length === 0 ? 0 : 1;
