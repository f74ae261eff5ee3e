#!/usr/bin/env node
// `npm run bench`: what nest-keyring costs a request, in server CPU µs, beside what users would
// otherwise write or pick, compared inside one process per host.
//
// Two hosts, each one process serving every route it compares (bench/targets/nest-app.ts and
// express-app.ts): routes of one process are compared with each other, never with another
// process's, because two processes of the same app differ by more than the costs measured. The
// server is pinned to core 0 and this runner (autocannon) and redis-server to core 1, where the
// machine has two cores and taskset. Each host is started --processes times; in each, every row
// is checked (status, body, refusals, tenant context, rate-limit counts), warmed up, then measured
// in --rounds rounds, every row once per round in a rotating order, so each row is paired with
// the others in every round. A measurement is the server's CPU time (process.cpuUsage() over IPC,
// every thread) per answered request, beside its requests/s. A row's cost over another is the
// median over the rounds of the two rows' difference in the same round, in each process; the
// figure is the median over the processes, the spread their min–max. The targets are judged on
// Node 24 and printed met/missed; bench/RESULTS.md is written from the run.
//
// Options (after `npm run bench --`, or to `node bench/run.mjs` once everything is compiled):
//   --processes N   processes per host (default 3)
//   --rounds N      rounds per process (default 5)
//   --duration S    seconds per measurement (default 4)
//   --warmup S      seconds of warm-up per row (default 2)
//   --connections N autocannon connections (default 50)
//   --node MAJOR    the Node to run on (default 24, from .cache/node, installed by
//                   scripts/node-runtimes.mjs if missing); `current` for this one
//   --profile ROWS  instead: one Nest or Express process under --cpu-prof, each row loaded for
//                   max(--duration, 5) s, and where each row's CPU time goes in µs per request (and, for
//                   two rows, the difference function by function), e.g. --profile auth,noop
//   --rows IDS      only these rows (and each host's baseline), e.g. --rows sha,auth: a quicker
//                   look, with no targets judged and bench/RESULTS.md left as it is
//   --load-core N   the core for autocannon and redis-server (default 1); 0 shares the server's
//                   core, for a look while other work keeps core 1 busy
//   --no-write      do not write bench/RESULTS.md
import { execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { generateApiKey } from 'nest-keyring';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const DIST = join(BENCH_DIR, 'dist');
const HOST = '127.0.0.1';
const TENANT = '456';
const BODY = JSON.stringify({ success: true, data: { status: 'ok' } });
const JUDGED_ON = '24';

const { values: args } = parseArgs({
  options: {
    processes: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '50' },
    node: { type: 'string', default: JUDGED_ON },
    profile: { type: 'string' },
    rows: { type: 'string' },
    'load-core': { type: 'string', default: '1' },
    'no-write': { type: 'boolean', default: false },
  },
});

// Run again on the wanted Node; the hosts this process forks inherit it.
const wanted = args.node === 'current' ? process.versions.node.split('.')[0] : args.node.replace(/^v/, '');
if (process.versions.node.split('.')[0] !== wanted) {
  const { ensureRuntimes, paths, runtimeEnv } = await import('../scripts/node-runtimes.mjs');
  const node = existsSync(paths(wanted).node) ? paths(wanted).node : (await ensureRuntimes([wanted]))[0].node;
  console.log(`bench: running on ${node}`);
  const { status, signal } = spawnSync(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: runtimeEnv(wanted),
  });
  process.exit(status ?? (signal ? 1 : 0));
}

const bounded = (name, min, max) => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  return n;
};
const PROCESSES = bounded('processes', 1, 10);
const ROUNDS = bounded('rounds', 1, 20);
const ONLY_ROWS = args.rows?.split(',').map((id) => id.trim());
const DURATION = bounded('duration', 1, 30);
const WARMUP = bounded('warmup', 0, 30);
const CONNECTIONS = bounded('connections', 1, 500);
// A profile samples every 200 µs: a few seconds per row keep its per-function figures steady.
const PROFILE_SECONDS = Math.max(DURATION, 5);

// ---------------------------------------------------------------------------------------------
// Cores: the server alone on core 0, the load generator (and Redis) on core 1.

const CORES = os.availableParallelism();
const LOAD_CORE = Number(args['load-core']);
const TASKSET = CORES >= 2 && spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
const PINNING = TASKSET
  ? 'server pinned to core 0; autocannon (this runner) and redis-server to core 1 (taskset)'
  : CORES < 2
    ? 'not pinned: one core only, the server and autocannon share it'
    : 'not pinned: no taskset on this machine, the server and autocannon share the cores';
const pin = (pid, core) => {
  if (TASKSET) execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
};

// ---------------------------------------------------------------------------------------------
// Child processes: every one is tracked and killed on any exit path.

const children = new Set();
let stopping = false;
function cleanup() {
  stopping = true;
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, stopping`);
    process.exit(130);
  });
setTimeout(() => {
  console.error('bench: still running after 40 minutes, giving up');
  process.exit(2);
}, 40 * 60_000).unref();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A throw-away redis-server on a free loopback port, or undefined where none is installed. */
async function startRedis() {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) return undefined;
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn('redis-server', ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  children.add(child);
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG') {
      pin(child.pid, LOAD_CORE);
      return `redis://${HOST}:${port}`;
    }
  }
  throw new Error('redis-server did not answer PING within 5 s');
}

/** Starts a host and waits for its port and rows. */
function startHost(file, env, execArgv = []) {
  return new Promise((resolve, reject) => {
    const child = fork(join(DIST, file), [], {
      env: { ...process.env, ...env, NODE_ENV: 'production' },
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.add(child);
    const timer = setTimeout(() => fail(new Error('did not report ready within 30 s')), 30_000);
    const fail = (error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${file}: ${error.message}`));
    };
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`exited (code ${code}, signal ${signal})`)));
    child.once('message', (message) => {
      if (message?.type !== 'ready') return fail(new Error(`unexpected message ${JSON.stringify(message)}`));
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.on('exit', (code, signal) => {
        if (stopping) return;
        console.error(`bench: ${file} exited during the run (code ${code}, signal ${signal})`);
        process.exit(1);
      });
      pin(child.pid, 0);
      resolve({ file, child, port: message.port, rows: message.rows });
    });
  });
}

async function stopHost({ child }) {
  stopping = true;
  if (child.exitCode === null && child.signalCode === null)
    await new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => resolve(clearTimeout(timer)));
      child.kill('SIGTERM');
    });
  children.delete(child);
  stopping = false;
}

/** The host's CPU time in µs (every thread), its clock, and what else it reports (lookups). */
function hostCpu({ child }) {
  return new Promise((resolve) => {
    const listener = (message) => {
      if (message?.type !== 'cpu') return;
      child.off('message', listener);
      resolve({ ...message, us: message.usage.user + message.usage.system });
    };
    child.on('message', listener);
    child.send({ type: 'cpu' });
  });
}

// ---------------------------------------------------------------------------------------------
// Checks before measuring: fail loudly on any wrong answer.

const headersOf = (key) => ({ ...(key ? { authorization: `Bearer ${key}` } : {}), 'x-tenant-id': TENANT });

async function get(host, path, key) {
  const response = await fetch(`http://${HOST}:${host.port}${path}`, {
    headers: headersOf(key),
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

async function verify(host, row) {
  const problems = [];
  const before = await hostCpu(host);
  const ok = await get(host, row.path, row.key);
  if (ok.status !== row.status) problems.push(`answered ${ok.status}, expected ${row.status}: ${ok.text}`);
  else if (row.status === 200 && ok.text !== BODY) problems.push(`answered ${ok.text}, expected ${BODY}`);
  if (row.id === 'forged' && (await hostCpu(host)).lookups !== before.lookups)
    problems.push('the forged key reached the lookup');
  if (row.guarded && row.status === 200) {
    for (const [what, key] of [
      ['without a key', undefined],
      ['with an unknown key', generateApiKey().key],
    ]) {
      const refused = await get(host, row.path, key);
      if (refused.status !== 401) problems.push(`answered ${refused.status} ${what}, expected 401`);
    }
  }
  if (row.limited) {
    const remaining = async () =>
      Number(/r=(\d+)/.exec((await get(host, row.path, row.key)).headers.get('ratelimit'))?.[1]);
    const [first, second] = [await remaining(), await remaining()];
    if (!(first - second === 1)) problems.push(`RateLimit r= went ${first} then ${second}: the limit is not counted`);
  }
  if (row.id === 'auth' || row.id === 'x-keyring') {
    const who = JSON.parse((await get(host, `${row.path}/whoami`, row.key)).text);
    if (String(who.tenant) !== TENANT || String(who.context) !== TENANT)
      problems.push(`whoami: tenant ${who.tenant}, context ${who.context}, expected ${TENANT}`);
  }
  if (problems.length) throw new Error(`row ${row.id} (${row.name}) is wrong:\n  - ${problems.join('\n  - ')}`);
}

// ---------------------------------------------------------------------------------------------
// Load, and what it cost the server.

/** Busy ticks of the whole machine, and of one process (every thread). */
const machineTicks = () => {
  const [user, nice, system, , , irq, softirq, steal = 0] = readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return user + nice + system + irq + softirq + steal;
};
const processTicks = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
};
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

// Rows with many keys send them in turn, one per request, across every connection.
let turn = 0;
const inTurn = (keys) => ({
  requests: [
    { setupRequest: (request) => ({ ...request, headers: headersOf(keys[(turn = (turn + 1) % keys.length)]) }) },
  ],
});

async function load(host, row, seconds) {
  const before = await hostCpu(host);
  const ticks = { machine: machineTicks(), server: processTicks(host.child.pid), runner: processTicks(process.pid) };
  const started = performance.now();
  const result = await autocannon({
    url: `http://${HOST}:${host.port}${row.path}`,
    connections: CONNECTIONS,
    duration: seconds,
    headers: headersOf(row.key),
    ...(row.keys ? inTurn(row.keys) : {}),
    timeout: 10,
  });
  const wall = (performance.now() - started) / 1000;
  const after = await hostCpu(host);
  const wrong = Object.entries(result.statusCodeStats ?? {}).filter(([code]) => Number(code) !== row.status);
  if (result.errors + result.timeouts > 0 || wrong.length > 0 || result.requests.total === 0)
    throw new Error(
      `row ${row.id}: ${result.errors} errors, ${result.timeouts} timeouts, statuses ` +
        `${JSON.stringify(result.statusCodeStats)} under load (expected only ${row.status})`,
    );
  const cores = (t) => t / CLK_TCK / wall;
  const server = cores(processTicks(host.child.pid) - ticks.server);
  const runner = cores(processTicks(process.pid) - ticks.runner);
  return {
    rps: result.requests.total / wall,
    p99: result.latency.p99,
    cpuUs: (after.us - before.us) / result.requests.total,
    serverCores: server,
    otherCores: Math.max(0, cores(machineTicks() - ticks.machine) - server - runner),
    window: [before.hrtimeUs, after.hrtimeUs],
  };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const spread = (values) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });
const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ---------------------------------------------------------------------------------------------
// A host measured in --processes processes of --rounds rounds.

async function measureHost(file, env) {
  const runs = []; // one per process: row id -> [measurement per round]
  let rows;
  for (let p = 0; p < PROCESSES; p++) {
    const host = await startHost(file, env);
    rows = host.rows.filter((row, index) => !ONLY_ROWS || index === 0 || ONLY_ROWS.includes(row.id));
    for (const row of rows) await verify(host, row);
    console.log(
      `${file} process ${p + 1}/${PROCESSES} (pid ${host.child.pid}): ${rows.length} rows answer as they must`,
    );
    for (const row of rows) if (WARMUP > 0) await load(host, row, WARMUP);
    const samples = new Map(rows.map((row) => [row.id, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = rows.map((_, i) => rows[(i + round) % rows.length]);
      const line = [];
      for (const row of order) {
        const m = await load(host, row, DURATION);
        samples.get(row.id).push(m);
        line.push(`${row.id} ${m.cpuUs.toFixed(1)}`);
      }
      console.log(`  round ${round + 1}/${ROUNDS} (CPU µs/req): ${line.join(', ')}`);
    }
    for (const row of rows) await verify(host, row); // still answering as it must after the load
    await stopHost(host);
    runs.push(samples);
  }
  return { rows, runs };
}

/** Row a's cost over row b: per process the median of the per-round differences; across processes. */
const delta = (host, a, b) => {
  if (!host.runs[0].has(a) || !host.runs[0].has(b)) return undefined;
  return spread(host.runs.map((s) => median(s.get(a).map((m, i) => m.cpuUs - s.get(b)[i].cpuUs))));
};

function summarize(host, baseline) {
  return host.rows.map((row) => {
    const perProcess = (field) => host.runs.map((s) => median(s.get(row.id).map((m) => m[field])));
    return {
      ...row,
      baseline,
      cpu: spread(perProcess('cpuUs')),
      rps: spread(perProcess('rps')),
      p99: median(perProcess('p99')),
      serverCores: median(perProcess('serverCores')),
      otherCores: median(perProcess('otherCores')),
      over: row.id === baseline ? undefined : delta(host, row.id, baseline),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Targets.

// The targets were set in µs of a machine where Nest's unguarded route cost about this much CPU
// per request (a guard adding 4 µs left it 0.89× the requests per second: 0.89 × 4 / 0.11). A
// slower machine's µs are scaled by what the same route costs here: the best-sampled row there is.
const REFERENCE_PUBLIC_US = 32;

/** How many of this machine's µs make one µs of the machine the targets were set on. */
const machineScale = (nest) => {
  if (!nest.runs[0]?.has('public')) return undefined;
  return spread(nest.runs.map((s) => median(s.get('public').map((m) => m.cpuUs)))).median / REFERENCE_PUBLIC_US;
};

function verdicts(nest, express) {
  const out = [];
  const scale = machineScale(nest);
  const signed = (n) => `${n >= 0 ? '+' : ''}${n.toFixed(2)}`;
  const spread = (d) => `${signed(d.median)} µs (processes: ${signed(d.min)} to ${signed(d.max)})`;
  // `rest`, for a target: what its figure is made of (parts, each the difference of two rows, a part
  // that any code doing the same work pays marked `any`), the rows to profile against each other, and why.
  const check = (label, d, limit, missingReason, rest) => {
    if (!d) return out.push({ label, pass: undefined, detail: missingReason });
    const scaled = scale === undefined ? '' : `; ${signed(d.median / scale)} µs scaled to the targets' machine`;
    const parts = rest?.parts
      .map(([name, a, b, any]) => ({ name, any, d: delta(a.startsWith('x-') ? express : nest, a, b) }))
      .filter((part) => part.d !== undefined)
      .map((part) => ({ ...part, detail: spread(part.d) }));
    out.push({
      label,
      pass: d.median <= limit,
      scaledPass: scale === undefined ? undefined : d.median / scale <= limit,
      detail: `${spread(d)}${scaled}`,
      rest: rest && { ...rest, parts },
    });
  };
  const tenantContext = 'a tenant context, which a guard that gives handlers one pays (row sha-scope over sha)';
  const ownWork = (id, reference) => `nest-keyring's own work (row ${id} over ${reference})`;
  const checksItMakes =
    'the checks the hand-written code does not make and the targets keep: the credential header rules (a ' +
    "repeated header, the Bearer form), the cached entry's expiry, environment, revocation, scopes, the tenant " +
    'choice and the admission recorded on the request';
  for (const [id, name] of [
    ['guard', 'ApiKeyGuard'],
    ['auth', '@ApiKeyAuth()'],
  ]) {
    check(`${name} ≤ the hand-written SHA-256 guard + 1 µs`, delta(nest, id, 'sha'), 1, undefined, {
      parts: [
        [tenantContext, 'sha-scope', 'sha', true],
        [ownWork(id, 'sha-scope'), id, 'sha-scope'],
      ],
      profile: [id, 'sha-scope'],
      why:
        `${name} gives handlers the request's tenant and key (TenantContext, ApiKeyContext): an ` +
        'AsyncLocalStorage scope of the request, which the hand-written guard gives in row sha-scope. What it ' +
        `adds over that guard (the second part) is ${checksItMakes}; the profile spreads it over the functions ` +
        'that make them.',
    });
    // Not a target: the same guard that also gives handlers a tenant context, as ours does.
    check(
      `(for comparison) ${name} ≤ the hand-written guard with a tenant context + 1 µs`,
      delta(nest, id, 'sha-scope'),
      1,
    );
    // "Clearly less": below passport by more than the noise of one µs.
    check(`${name} < passport-headerapikey (by ≥ 1 µs)`, delta(nest, id, 'passport'), -1);
  }
  check(
    'Express: both middlewares ≤ two no-op middlewares + 1 µs',
    delta(express, 'x-keyring', 'x-noop'),
    1,
    undefined,
    {
      parts: [
        ['a key check: SHA-256 of the key and a Map read (row x-sha over x-noop)', 'x-sha', 'x-noop', true],
        [
          'a tenant context: AsyncLocalStorage.run for the rest of the request (row x-sha-scope over x-sha)',
          'x-sha-scope',
          'x-sha',
          true,
        ],
        [ownWork('x-keyring', 'x-sha-scope'), 'x-keyring', 'x-sha-scope'],
      ],
      profile: ['x-keyring', 'x-sha-scope'],
      why:
        'Two no-op middlewares check no key and open no context. Any middleware that checks a key pays the first ' +
        'part, and one that gives the rest of the request a tenant context the second; the third is ' +
        `${checksItMakes}, and continuing the request inside its scope; the profile spreads it over the ` +
        'functions that make them.',
    },
  );
  check(
    '(for comparison) Express: both middlewares ≤ a hand-written middleware (SHA-256 + Map) + 1 µs',
    delta(express, 'x-keyring', 'x-sha'),
    1,
  );
  check(
    '(for comparison) Express: both middlewares ≤ the hand-written middleware with a tenant context + 1 µs',
    delta(express, 'x-keyring', 'x-sha-scope'),
    1,
  );
  check('per-key limit in memory ≤ +1 µs over @ApiKeyAuth()', delta(nest, 'limit-memory', 'auth'), 1, undefined, {
    parts: [[ownWork('limit-memory', 'auth'), 'limit-memory', 'auth']],
    profile: ['limit-memory', 'auth'],
    why:
      'A limited request is counted (a Map read and write in the store) and answered with its RateLimit-Policy ' +
      "and RateLimit headers, which Nest's adapter sets one by one. The headers are how a client learns its " +
      'budget, so they stay; the profile shows what counting costs beside setting and writing them.',
  });
  // A ratio, the same on any machine: one key's cost over the unguarded route, plus what the many
  // keys add over one key sent the same way (requests built one by one, row auth-1), against it.
  const one = delta(nest, 'auth', 'public');
  const more = delta(nest, 'auth-100k', 'auth-1');
  if (one && more)
    out.push({
      label: '100,000 keys in use, all cached, ≤ 1.5× the cost of one key',
      pass: one.median + more.median <= 1.5 * one.median,
      detail:
        `${((one.median + more.median) / one.median).toFixed(2)}×: one key +${one.median.toFixed(2)} µs over the ` +
        `unguarded route; 100,000 keys ${more.median >= 0 ? '+' : ''}${more.median.toFixed(2)} µs more (processes: ` +
        `${more.min.toFixed(2)} to ${more.max.toFixed(2)}) over one key sent the same way (row auth-1)`,
    });
  const noRedis = 'no redis-server on this machine';
  // Over a route that makes one bare Redis round trip (PING): waiting on Redis changes how a saturated
  // server batches its work, so a route that waits can cost less CPU than one that does not.
  const overPing = 'over one Redis round trip (row redis-ping)';
  check(
    `per-key limit in Redis, the store's client, ≤ +4 µs ${overPing}`,
    delta(nest, 'limit-redis', 'redis-ping'),
    4,
    noRedis,
    {
      parts: [
        ["the limit through the app's client (row limit-redis-app over redis-ping)", 'limit-redis-app', 'redis-ping'],
        [
          "the store's own client over the app's (row limit-redis over limit-redis-app)",
          'limit-redis',
          'limit-redis-app',
        ],
      ],
      profile: ['limit-redis', 'limit-redis-app'],
      why:
        'Both clients send the same script with the same options; the two rows differ only in which node-redis ' +
        'client object sends it. The profile compares them.',
    },
  );
  check(
    `per-key limit in Redis, the app's client, ≤ +4 µs ${overPing}`,
    delta(nest, 'limit-redis-app', 'redis-ping'),
    4,
    noRedis,
  );
  check(
    'a forged signed key refused by its tag ≤ a cache hit',
    delta(nest, 'forged', 'auth'),
    0,
    'this build does not sign keys (no `signingSecrets`)',
    {
      parts: [
        [
          "Nest's exception layer: the hand-written guard's refusal over its admission (row sha-refused over sha)",
          'sha-refused',
          'sha',
          true,
        ],
        [ownWork('forged', 'sha-refused'), 'forged', 'sha-refused'],
        ["less nest-keyring's cache hit over the hand-written guard's admission (row sha over auth)", 'sha', 'auth'],
      ],
      profile: ['forged', 'sha-refused'],
      why:
        "A guard's refusal is an exception that Nest's exception layer answers (a guard that returns false " +
        'throws one too), and KeyringException is what exception filters read; a cache hit pays none of it. ' +
        "nest-keyring's refusal also checks the tag (two SHA-256, after the cache's: what refuses the key " +
        'without asking the store or taking a place in the cache), and sends its error body and ' +
        'WWW-Authenticate; the profile shows each.',
    },
  );
  // Not a target: the same refusal against the hand-written guard's (Nest's exception path, which
  // every guard that refuses pays).
  check(
    '(for comparison) a forged signed key ≤ the hand-written guard refusing an unknown key + 1 µs',
    delta(nest, 'forged', 'sha-refused'),
    1,
    'this build does not sign keys (no `signingSecrets`)',
  );
  return out;
}
const scaledMark = (c) => (c.scaledPass === undefined ? '' : c.scaledPass ? ' (scaled MET)' : ' (scaled MISSED)');
const mark = (c) => (c.pass === undefined ? 'NOT MEASURED' : `${c.pass ? 'MET' : 'MISSED'}${scaledMark(c)}`);

// ---------------------------------------------------------------------------------------------
// In-process figures: diagnostics channels and cache memory (JSON on the child's last line).

function inProcess(file, execArgv = []) {
  const output = execFileSync(process.execPath, [...execArgv, join(DIST, file)], {
    env: { ...process.env, MICRO_JSON: '1' },
    encoding: 'utf8',
    timeout: 10 * 60_000,
  });
  return JSON.parse(output.trim().split('\n').at(-1));
}

// ---------------------------------------------------------------------------------------------
// Profile mode: where each row's CPU goes, µs per request, function by function.

function profileWindow(profile, [from, to]) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const counts = new Map();
  let at = profile.startTime;
  let total = 0;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i];
    if (at < from || at > to) return;
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    if (functionName === '(idle)') return;
    const where = url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '');
    const pkg =
      /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
      (url.includes('/dist/esm/') ? 'nest-keyring' : url.startsWith('node:') ? url : url ? 'bench' : functionName);
    const fn =
      `${functionName || '(anonymous)'} ${where ? `${where.replace(/^.*\/dist\/esm\//, 'nest-keyring/')}:${lineNumber + 1}` : ''}`.trim();
    counts.set(fn, { pkg, n: (counts.get(fn)?.n ?? 0) + 1 });
    total++;
  });
  return { counts, total };
}

/**
 * Profiles rows in one host process: `rows`, each row's top functions and packages; `diff`, for two
 * rows, the first minus the second, function by function and by package (lines of text).
 */
async function profileRows(ids, redis) {
  const file = ids[0].startsWith('x-') ? 'express-app.js' : 'nest-app.js';
  const dir = mkdtempSync(join(os.tmpdir(), 'nest-keyring-profile-'));
  const redisUrl = file === 'nest-app.js' ? (redis ?? (await startRedis())) : undefined;
  const host = await startHost(file, redisUrl ? { REDIS_URL: redisUrl } : {}, [
    '--cpu-prof',
    '--cpu-prof-interval',
    '200',
    '--cpu-prof-dir',
    dir,
  ]);
  const measured = [];
  for (const id of ids) {
    const row = host.rows.find((r) => r.id === id);
    if (!row) throw new Error(`--profile: no row ${id} (rows: ${host.rows.map((r) => r.id).join(', ')})`);
    await verify(host, row);
    await load(host, row, WARMUP || 1);
    measured.push({ row, m: await load(host, row, PROFILE_SECONDS) });
  }
  await stopHost(host);
  const profile = JSON.parse(
    readFileSync(
      join(
        dir,
        readdirSync(dir).find((f) => f.endsWith('.cpuprofile')),
      ),
      'utf8',
    ),
  );
  rmSync(dir, { recursive: true, force: true });
  // hrtime and V8's profile clock are both CLOCK_MONOTONIC, in µs.
  const perRow = measured.map(({ row, m }) => {
    const { counts, total } = profileWindow(profile, m.window);
    const us = new Map([...counts].map(([fn, c]) => [fn, { pkg: c.pkg, us: (c.n / total) * m.cpuUs }]));
    return { row, m, us };
  });
  const top = (entries, n) =>
    entries
      .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
      .slice(0, n)
      .map(([name, v]) => `  ${(v >= 0 ? '+' : '') + v.toFixed(2).padStart(6)} µs  ${name}`)
      .join('\n');
  const byPkg = (us) => {
    const out = new Map();
    for (const { pkg, us: v } of us.values()) out.set(pkg, (out.get(pkg) ?? 0) + v);
    return out;
  };
  const rows = [];
  for (const { row, m, us } of perRow) {
    rows.push(`\n${row.id} (${row.name}): ${fmt(m.rps)} req/s, ${m.cpuUs.toFixed(1)} CPU µs/req; self time, µs/req:`);
    rows.push(
      top(
        [...us].map(([fn, v]) => [fn, v.us]),
        25,
      ),
    );
    rows.push('by package:\n' + top([...byPkg(us)], 15));
  }
  const diff = [];
  if (perRow.length === 2) {
    const [a, b] = perRow;
    const names = new Set([...a.us.keys(), ...b.us.keys()]);
    const byFunction = [...names].map((fn) => [fn, (a.us.get(fn)?.us ?? 0) - (b.us.get(fn)?.us ?? 0)]);
    const pa = byPkg(a.us);
    const pb = byPkg(b.us);
    const pkgs = new Set([...pa.keys(), ...pb.keys()]);
    diff.push(`${a.row.id} minus ${b.row.id}: ${(a.m.cpuUs - b.m.cpuUs).toFixed(2)} µs/req; by function:`);
    diff.push(top(byFunction, 20));
    diff.push(
      'by package:\n' +
        top(
          [...pkgs].map((p) => [p, (pa.get(p) ?? 0) - (pb.get(p) ?? 0)]),
          12,
        ),
    );
  }
  return { rows, diff };
}

// ---------------------------------------------------------------------------------------------
// Report.

function table(summary) {
  const lines = [
    "| Row | Route | CPU µs/req (min–max) | over its host's baseline, µs (min–max) | req/s (min–max) | p99 ms | " +
      'server cores | other cores |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of summary) {
    const signed = (n, digits) => `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`;
    const over = r.over
      ? `${signed(r.over.median, 2)} (${signed(r.over.min, 1)} to ${signed(r.over.max, 1)})`
      : 'baseline';
    lines.push(
      `| ${r.id} | ${r.name} | ${r.cpu.median.toFixed(1)} (${r.cpu.min.toFixed(1)}–${r.cpu.max.toFixed(1)}) | ` +
        `${over} | ` +
        `${fmt(r.rps.median)} (${fmt(r.rps.min)}–${fmt(r.rps.max)}) | ${fmt(r.p99)} | ${r.serverCores.toFixed(2)} | ` +
        `${r.otherCores.toFixed(2)} |`,
    );
  }
  return lines;
}

function machine() {
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  const version = (name) => {
    try {
      return JSON.parse(readFileSync(fileURLToPath(import.meta.resolve(`${name}/package.json`)), 'utf8')).version;
    } catch {
      return '?';
    }
  };
  let commit = 'unknown';
  try {
    const git = (...a) =>
      execFileSync('git', a, { cwd: BENCH_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    commit =
      git('rev-parse', '--short', 'HEAD').trim() +
      (git('status', '--porcelain', '--', '../lib') ? ' + uncommitted lib/' : '');
  } catch {
    // Not a git checkout.
  }
  const names = ['@nestjs/core', 'express', '@nestjs/passport', 'passport-headerapikey', 'redis', 'autocannon'];
  return {
    cpu: `${model}, ${CORES} cores`,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    commit,
    versions: names.map((n) => `${n} ${version(n)}`).join(', '),
  };
}

function fleetLines() {
  const file = join(DIST, 'fleet.json');
  if (!existsSync(file)) return [];
  const { when, node, revocation } = JSON.parse(readFileSync(file, 'utf8'));
  return [
    '## Replicas behind Redis (bench/fleet.mjs, details in bench/FLEET.md)',
    '',
    `${when}, Node ${node}: a key revoked in one replica refused by the other after p50 ` +
      `${revocation.p50Ms.toFixed(1)} ms, p99 ${revocation.p99Ms.toFixed(1)} ms.`,
    '',
  ];
}

/** For each missed target: the parts its figure is made of, why, and the profile of its rows. */
function restLines(explained, profiles) {
  if (explained.length === 0) return [];
  return [
    "## Where a missed target's figure goes",
    '',
    'Each missed target is split into parts, each the difference of two rows of this run taken as the targets ' +
      'are (per process the median of the per-round differences, then the median over the processes, so the ' +
      'parts need not add up exactly). "(any)" marks a part that hand-written code doing the same work pays too. ' +
      "Then a CPU profile of nest-keyring's row against the row that does the same work by hand: one more host " +
      `process under --cpu-prof, ${PROFILE_SECONDS} s per row after ${WARMUP || 1} s of warm-up, self time in µs per ` +
      'request. "writev" is the kernel writing each response to the loopback socket, counted in the server\'s ' +
      'CPU; it moves by a few µs between two windows of the same row, whatever the route does.',
    '',
    ...explained.flatMap((c) => [
      `### ${c.label}`,
      '',
      `${c.detail}, made of:`,
      '',
      ...c.rest.parts.map((part) => `- ${part.any ? '(any) ' : ''}${part.name}: ${part.detail}`),
      '',
      c.rest.why,
      '',
      '```text',
      ...profiles.get(c.rest.profile.join(' minus ')),
      '```',
      '',
    ]),
  ];
}

function writeResults({ info, summary, checks, timer, diagnostics, memory, minutes, otherCores, scale, rest }) {
  const scaleLine =
    scale === undefined
      ? ''
      : `"Scaled": the targets are µs of a machine where Nest's unguarded route cost about ` +
        `${REFERENCE_PUBLIC_US} µs of CPU per request; here it costs ${scale.toFixed(2)} times that, so each ` +
        'figure is divided by that ratio before it is compared with its target. The first mark compares the ' +
        'figure as measured here, the one in brackets the scaled figure. Nothing else changes between them.';
  const doc = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (bench/run.mjs) from its last run; every run overwrites it.',
    '',
    `- Run: ${new Date().toISOString()}, ${minutes.toFixed(1)} min, ` +
      `\`node bench/run.mjs ${process.argv.slice(2).join(' ')}\``,
    `- Machine: ${info.cpu}, ${info.os}; ${PINNING}. Other processes used ${otherCores.toFixed(2)} cores meanwhile ` +
      '(median over the measurements; above 0.1 the figures are noisy; "server cores" is what the server ' +
      'used under load, 1.00 when it had its core to itself).',
    `- Node ${info.node}; ${info.versions}; nest-keyring built from ${info.commit}.`,
    '',
    '## Method',
    '',
    'Two hosts, each one process serving every route it compares: a Nest app (Express adapter) and a plain ' +
      'Express app. Routes are compared inside a process, never across processes (two processes of one app ' +
      'differ by more than the costs measured). ' +
      `Each host ran in ${PROCESSES} processes; in each, every row was checked (status, body, 401 without a key ` +
      'and with an unknown key, the tenant context, a rate limit that counts), warmed up ' +
      `${WARMUP} s, then measured in ${ROUNDS} rounds of ${DURATION} s per row (${CONNECTIONS} connections, ` +
      'order rotating each round). "CPU µs/req" is the server\'s CPU time (process.cpuUsage(), every ' +
      'thread) per answered request: median over the rounds per process, then over the processes ' +
      '(min–max: the processes\' medians). "Over its host\'s baseline" is, per process, the median of the ' +
      "per-round differences to the host's unguarded route, then the median over the processes. Targets " +
      'compare two rows the same way. Every request carries `Authorization: Bearer <key>` and ' +
      `\`X-TENANT-ID: ${TENANT}\`; any other status than the row's under load fails the run. ` +
      'A Redis-limited route is compared with a route that makes one bare Redis round trip (row redis-ping), ' +
      'not with the unguarded one: a request that waits on Redis changes how the saturated server batches ' +
      'its work, and such rows cost less CPU than the unguarded route. Rows sha-refused, sha-scope, x-sha ' +
      "and x-sha-scope are the hand-written guard's refusal, the hand-written guard and Express middleware " +
      'alone and with a tenant context (AsyncLocalStorage), for comparison. Row auth-100k sends 100,000 ' +
      'keys in turn, all held by the cache; each of its requests is built on its own, which changes how ' +
      'the load arrives and what a request costs the saturated server (auth-1, the same for one key, costs ' +
      'less than auth), so it is compared with auth-1.',
    '',
    `## Targets (Node ${info.node})`,
    '',
    ...checks.map(
      (c) =>
        `- ${c.pass === undefined ? '➖ not measured' : c.pass ? '✅ met' : '❌ missed'}` +
        `${c.scaledPass === undefined ? '' : c.scaledPass ? ' (scaled: ✅ met)' : ' (scaled: ❌ missed)'}: ` +
        `${c.label}: ${c.detail}`,
    ),
    '',
    scaleLine,
    '',
    '## Rows',
    '',
    ...table(summary),
    '',
    ...(timer ? [timer] : []),
    '',
    `Diagnostics channels (\`nest-keyring:*\`, bench/targets/diagnostics-cost.ts): the checks alone ` +
      `${diagnostics.calls.toFixed(3)} µs per request while nobody subscribes; a guard check ` +
      `${diagnostics.quiet.toFixed(3)} µs quiet, ${diagnostics.observed.toFixed(3)} µs with every channel subscribed.`,
    '',
    `Lookup cache at its default bound (${fmt(memory.entries)} keys, bench/targets/cache-memory.ts): ` +
      `${memory.shared.mb.toFixed(2)} MB (${fmt(memory.shared.bytesPerEntry)} bytes per key), ` +
      `${memory.owned.mb.toFixed(2)} MB (${fmt(memory.owned.bytesPerEntry)}) counting records a database driver ` +
      `returns; after ${fmt(2 * memory.entries)} keys it holds ${fmt(memory.bound.sizeAfter2N)}.`,
    '',
    ...rest,
    ...fleetLines(),
  ].join('\n');
  writeFileSync(join(BENCH_DIR, 'RESULTS.md'), doc);
  console.log('written: bench/RESULTS.md');
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  pin(process.pid, LOAD_CORE);
  if (args.profile) {
    const { rows, diff } = await profileRows(args.profile.split(',').map((s) => s.trim()));
    return console.log([...rows, '', ...diff].join('\n'));
  }
  const info = machine();
  console.log(`nest-keyring bench: ${info.cpu}, Node ${info.node}; ${PINNING}`);
  if (major(info.node) !== JUDGED_ON) console.log(`(the targets are judged on Node ${JUDGED_ON}: informative only)`);
  const [machineBefore, runnerBefore] = [machineTicks(), processTicks(process.pid)];
  await sleep(1000);
  const busy = (machineTicks() - machineBefore - (processTicks(process.pid) - runnerBefore)) / CLK_TCK;
  if (busy > 0.2) console.log(`*** other processes use ${busy.toFixed(2)} cores: the figures will be noisy`);
  const redisUrl = await startRedis();
  if (!redisUrl) console.log('*** no redis-server on this machine: the Redis rows are left out');
  console.log(
    `${PROCESSES} processes per host, ${ROUNDS} rounds of ${DURATION} s per row, ${WARMUP} s warm-up, ` +
      `${CONNECTIONS} connections\n`,
  );
  const nest = await measureHost('nest-app.js', redisUrl ? { REDIS_URL: redisUrl } : {});
  if (ONLY_ROWS) {
    const express = ONLY_ROWS.some((id) => id.startsWith('x-')) ? await measureHost('express-app.js', {}) : undefined;
    const summary = [...summarize(nest, 'public'), ...(express ? summarize(express, 'x-plain') : [])];
    return console.log(`\n${table(summary).join('\n')}`);
  }
  const express = await measureHost('express-app.js', {});
  const summary = [...summarize(nest, 'public'), ...summarize(express, 'x-plain')];
  const checks = verdicts(nest, express);
  console.log(`\n${table(summary).join('\n')}\n\ntargets:`);
  for (const c of checks) console.log(`${mark(c).padEnd(26)} ${c.label}: ${c.detail}`);
  const scale = machineScale(nest);
  if (scale) console.log(`(scaled: this machine's µs ÷ ${scale.toFixed(2)}, the unguarded route's cost ratio)`);
  const t = delta(nest, 'limit-redis-timer', 'limit-redis-app');
  const timer =
    t &&
    `node-redis's per-command timeout (an AbortSignal.timeout per command), which the store turns off: ` +
      `+${t.median.toFixed(2)} µs per request (processes: ${t.min.toFixed(2)} to ${t.max.toFixed(2)}), ` +
      'row limit-redis-timer over limit-redis-app.';
  if (timer) console.log(timer);
  // A missed target's parts, and a CPU profile of nest-keyring's row against the same work by hand.
  const explained = checks.filter((c) => c.pass === false && c.rest);
  const profiles = new Map();
  for (const { rest } of explained) {
    const pair = rest.profile.join(' minus ');
    if (profiles.has(pair)) continue;
    console.log(`profiling ${pair}`);
    profiles.set(pair, (await profileRows(rest.profile, redisUrl)).diff);
  }
  const diagnostics = inProcess('diagnostics-cost.js');
  const memory = inProcess('cache-memory.js', ['--expose-gc']);
  const otherCores = median(summary.map((r) => r.otherCores));
  const minutes = (Date.now() - started) / 60_000;
  console.log(`\n(${minutes.toFixed(1)} min; other processes used ${otherCores.toFixed(2)} cores meanwhile)`);
  if (!args['no-write'])
    writeResults({
      info,
      summary,
      checks,
      timer,
      diagnostics,
      memory,
      minutes,
      otherCores,
      scale: machineScale(nest),
      rest: restLines(explained, profiles),
    });
}
const major = (version) => version.replace(/^v/, '').split('.')[0];

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`\nbench FAILED: ${error.message}`);
    process.exit(1);
  },
);
