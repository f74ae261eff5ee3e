#!/usr/bin/env node
// `npm run bench`: what nest-keyring costs per request, next to what users would otherwise pick.
//
// Every target runs as its own process on 127.0.0.1 (a free port it picks itself and reports
// over IPC); this process drives each with autocannon. All targets are started and checked
// first (each must answer 200 to a request carrying a valid generateApiKey() key, and the
// guarded ones must refuse a request without one), then warmed up, then measured in
// interleaved rounds (the order rotates each round). The table gives the median requests/s
// over the rounds, p50/p99 latency, and each row's ratio to the unguarded Nest route (row 8b:
// to plain Express, 8a). Then a child with --expose-gc measures the lookup cache's memory.
// The table is printed and written to bench/RESULTS.md.
//
// Options (after `npm run bench --`, or to `node bench/run.mjs` once everything is compiled):
//   --rounds N        measured rounds (default 5)
//   --duration S      seconds per measurement (default 5)
//   --warmup S        seconds of warm-up per target (default 3)
//   --connections N   autocannon connections (default 50)
//   --only 4,5,8b     measure only these rows (row 2, and 8a for 8b, are added for the ratios)
//   --diagnose        add the diagnostic rows (x1-x8: what AsyncLocalStorage alone, any Nest
//                     guard, interceptor or middleware, any two Express middlewares, an async
//                     next() and apiKeyMiddleware alone cost), not run by default
//   --profile ROW     instead of the table: run that row's target under `node --cpu-prof`,
//                     load it for --duration seconds and print where its CPU time goes
//   --package-dir DIR run the targets against another ES-module build of nest-keyring (DIR
//                     holds its index.js), e.g. a candidate fix, instead of dist/esm
//   --compare-package DIR
//                     A/B in one run: every selected row that uses nest-keyring gets a twin
//                     row (e.g. "4*") running against the build in DIR, measured interleaved
//                     with the original, so a candidate fix is compared under the same noise
//   --no-write        do not overwrite bench/RESULTS.md
//   --node MAJOR      run this runner and every target on Node MAJOR (22, 24 or 26) from
//                     .cache/node/, installed and given its own better-sqlite3 build by
//                     scripts/node-runtimes.mjs if missing, so results compare across Nodes
//   --nodes LIST      the Nodes to measure one after the other, e.g. 20,24 (default: this
//                     machine's Node and 24); the targets are judged on Node 24, and
//                     bench/RESULTS.md shows every Node side by side
//   --json FILE       (internal, with --node) write this Node's measurements to FILE
import { fork, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { generateApiKey } from 'nest-keyring';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const DIST = join(BENCH_DIR, 'dist');
const HOST = '127.0.0.1';
const WATCHDOG_MS = 15 * 60_000; // the whole run stops itself after this, whatever happens

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    only: { type: 'string' },
    diagnose: { type: 'boolean', default: false },
    profile: { type: 'string' },
    'package-dir': { type: 'string' },
    'compare-package': { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    node: { type: 'string' },
    nodes: { type: 'string' },
    json: { type: 'string' },
  },
});
if (args.node && process.versions.node.split('.')[0] !== args.node.replace(/^v/, '')) {
  // Run again on that Node; the targets it forks inherit it, and NODE_OPTIONS makes every one
  // load the better-sqlite3 built for it.
  const { ensureRuntimes, runtimeEnv } = await import('../scripts/node-runtimes.mjs');
  const [runtime] = await ensureRuntimes([args.node.replace(/^v/, '')]);
  const hook = fileURLToPath(new URL('../scripts/better-sqlite3-hook.mjs', import.meta.url));
  const nodeOptions = [`--import=${hook}`, process.env.NODE_OPTIONS].filter(Boolean).join(' ');
  const rest = process.argv
    .slice(2)
    .filter((arg, i, all) => !(arg === '--node' || arg.startsWith('--node=') || all[i - 1] === '--node'));
  console.log(`bench: running on Node ${runtime.version}`);
  const { status, signal } = spawnSync(runtime.node, [fileURLToPath(import.meta.url), ...rest], {
    stdio: 'inherit',
    env: runtimeEnv(runtime.major, { NODE_OPTIONS: nodeOptions }),
  });
  process.exit(status ?? (signal ? 1 : 0));
}
const bounded = (name, value, min, max) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
  return n;
};
const ROUNDS = bounded('rounds', args.rounds, 1, 15);
const DURATION = bounded('duration', args.duration, 1, 30);
const WARMUP = bounded('warmup', args.warmup, 0, 30);
const CONNECTIONS = bounded('connections', args.connections, 1, 500);
const packageDirOption = (name) => {
  if (!args[name]) return undefined;
  const dir = resolvePath(args[name]);
  if (!existsSync(join(dir, 'index.js'))) throw new Error(`--${name}: no index.js in ${dir}`);
  return dir;
};
const PACKAGE_DIR = packageDirOption('package-dir');
const COMPARE_DIR = packageDirOption('compare-package');
// Children load the package from a directory when one is given (see package-redirect.mjs).
const childExecArgv = (dir) => (dir ? ['--import', join(BENCH_DIR, 'package-redirect.mjs')] : []);
const childEnv = (dir) => (dir ? { BENCH_PACKAGE_DIR: dir } : {});
const CHILD_EXEC_ARGV = childExecArgv(PACKAGE_DIR);
const CHILD_ENV = childEnv(PACKAGE_DIR);

// guarded: must refuse a request without a key. tenant: must act for tenant 456 in the tenant
// context. keyId: what /bench/whoami must report as the key.
const TARGETS = [
  { row: '1', name: 'bare node:http (floor)', file: 'node-http.js', argv: [], guarded: false, tenant: false },
  { row: '2', name: 'Nest 12, no auth', file: 'nest-app.js', argv: ['plain'], guarded: false, tenant: false },
  {
    row: '2b',
    name: 'Nest, public route of an app importing ApiKeyModule',
    file: 'nest-app.js',
    argv: ['public'],
    guarded: false,
    tenant: false,
  },
  {
    row: '3',
    name: 'Nest + @nestjs/passport (passport-headerapikey)',
    file: 'nest-app.js',
    argv: ['passport'],
    guarded: true,
    tenant: false,
  },
  {
    row: '4',
    name: 'Nest + ApiKeyGuard, in-memory lookup',
    file: 'nest-app.js',
    argv: ['guard'],
    guarded: true,
    tenant: false,
    tenantOnRequest: true,
  },
  {
    row: '5',
    name: 'Nest + @ApiKeyAuth() (guard + tenant)',
    file: 'nest-app.js',
    argv: ['guard-tenant'],
    guarded: true,
    tenant: true,
  },
  {
    row: '6',
    name: 'Nest + @ApiKeyAuth(), SQLite, cache',
    file: 'nest-app.js',
    argv: ['sqlite-cache'],
    guarded: true,
    tenant: true,
    sqlite: true,
  },
  {
    row: '7',
    name: 'Nest + @ApiKeyAuth(), SQLite, cache: false',
    file: 'nest-app.js',
    argv: ['sqlite-nocache'],
    guarded: true,
    tenant: true,
    sqlite: true,
  },
  { row: '8a', name: 'Express 5, no auth', file: 'express-app.js', argv: ['plain'], guarded: false, tenant: false },
  {
    row: '8b',
    name: 'Express 5 + apiKeyMiddleware + tenantMiddleware',
    file: 'express-app.js',
    argv: ['keyring'],
    guarded: true,
    tenant: true,
  },
];
// Diagnostics: where the cost of rows 5 and 8b comes from. Not part of the default run.
const DIAGNOSTIC_TARGETS = [
  {
    row: 'x1',
    name: 'Nest + interceptor doing only AsyncLocalStorage.run (no keyring)',
    file: 'nest-app.js',
    argv: ['als-only'],
    guarded: false,
    tenant: false,
  },
  {
    row: 'x4',
    name: 'Nest + no-op interceptor (returns next.handle(); no keyring)',
    file: 'nest-app.js',
    argv: ['noop-interceptor'],
    guarded: false,
    tenant: false,
  },
  {
    row: 'x5',
    name: 'Nest + no-op guard (returns true; no keyring)',
    file: 'nest-app.js',
    argv: ['noop-guard'],
    guarded: false,
    tenant: false,
  },
  {
    row: 'x7',
    name: 'Nest + a no-op middleware on every request, mounted as ApiKeyModule mounts its own (no keyring)',
    file: 'nest-app.js',
    argv: ['noop-middleware'],
    guarded: false,
    tenant: false,
  },
  {
    row: 'x2',
    name: 'Express 5 + middleware doing only AsyncLocalStorage.run (no keyring)',
    file: 'express-app.js',
    argv: ['als-only'],
    guarded: false,
    tenant: false,
  },
  {
    row: 'x3',
    name: 'Express 5 + apiKeyMiddleware only (no tenantMiddleware)',
    file: 'express-app.js',
    argv: ['apikey-only'],
    guarded: true,
    tenant: false,
    tenantOnRequest: true,
  },
  {
    row: 'x8',
    name: 'Express 5 + two middlewares that only call next() (no keyring)',
    file: 'express-app.js',
    argv: ['two-noop'],
    guarded: false,
    tenant: false,
  },
  {
    row: 'x6',
    name: 'Express 5 + middleware calling next() from a promise (no keyring)',
    file: 'express-app.js',
    argv: ['async-next'],
    guarded: false,
    tenant: false,
  },
];
const ALL_TARGETS = [...TARGETS, ...DIAGNOSTIC_TARGETS];
const baselineOf = (row) => (['8b', 'x2', 'x3', 'x6', 'x8'].includes(row) ? '8a' : '2');

const EXPECTED_BODY = JSON.stringify({ success: true, data: { status: 'ok' } });
const TENANT = '456';

// ---------------------------------------------------------------------------------------------
// Child processes: every one is tracked and killed on any exit path.

const children = new Set();
let tmpDir;

function cleanup() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
  tmpDir = undefined;
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, stopping every target`);
    cleanup();
    process.exit(130);
  });
}
const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${WATCHDOG_MS / 60_000} minutes, giving up`);
  cleanup();
  process.exit(2);
}, WATCHDOG_MS);
watchdog.unref();

/** Starts a target and waits for it to report its port and key. */
function startTarget(target, key, execArgv = []) {
  return new Promise((resolve, reject) => {
    const child = fork(join(DIST, target.file), target.argv, {
      env: {
        ...process.env,
        ...childEnv(target.packageDir ?? PACKAGE_DIR),
        BENCH_KEY: key,
        BENCH_TMP: tmpDir,
        NODE_ENV: 'production',
      },
      execArgv: [...childExecArgv(target.packageDir ?? PACKAGE_DIR), ...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.add(child);
    const timer = setTimeout(() => fail(new Error('did not report ready within 30 s')), 30_000);
    const fail = (error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`row ${target.row} (${target.name}): ${error.message}`));
    };
    child.once('error', fail);
    child.once('exit', (code, signal) =>
      fail(new Error(`exited before it was ready (code ${code}, signal ${signal})`)),
    );
    child.once('message', (message) => {
      if (message?.type !== 'ready' || !Number.isInteger(message.port))
        return fail(new Error(`unexpected message ${JSON.stringify(message)}`));
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.on('exit', (code, signal) => {
        if (!stopping) {
          console.error(
            `bench: row ${target.row} (${target.name}) exited during the run (code ${code}, signal ${signal})`,
          );
          cleanup();
          process.exit(1);
        }
      });
      resolve({ ...target, child, port: message.port, key: message.key });
    });
  });
}
let stopping = false;

async function stopTarget(running) {
  const { child } = running;
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
  children.delete(child);
}

const headersFor = (running) => ({ authorization: `Bearer ${running.key}`, 'x-tenant-id': TENANT });

// ---------------------------------------------------------------------------------------------
// Checks before measuring: fail loudly on any wrong answer.

async function get(running, path, headers) {
  const response = await fetch(`http://${HOST}:${running.port}${path}`, { headers, signal: AbortSignal.timeout(5000) });
  return { status: response.status, text: await response.text() };
}

async function verify(running) {
  const problems = [];
  const ok = await get(running, '/bench', headersFor(running));
  if (ok.status !== 200) problems.push(`GET /bench with the key answered ${ok.status}: ${ok.text}`);
  else if (ok.text !== EXPECTED_BODY) problems.push(`GET /bench answered ${ok.text}, expected ${EXPECTED_BODY}`);

  const who = await get(running, '/bench/whoami', headersFor(running));
  if (who.status !== 200) problems.push(`GET /bench/whoami answered ${who.status}: ${who.text}`);
  else {
    const seen = JSON.parse(who.text);
    if (running.guarded && seen.key === null) problems.push('the handler saw no authenticated key');
    if ((running.tenant || running.tenantOnRequest) && String(seen.tenant) !== TENANT)
      problems.push(`request.tenant is ${seen.tenant}, expected ${TENANT}`);
    if (running.tenant && String(seen.context) !== TENANT)
      problems.push(`TenantContext holds ${seen.context}, expected ${TENANT}`);
  }

  if (running.guarded) {
    const missing = await get(running, '/bench', { 'x-tenant-id': TENANT });
    if (missing.status !== 401) problems.push(`GET /bench without a key answered ${missing.status}, expected 401`);
    const unknown = await get(running, '/bench', {
      authorization: `Bearer ${generateApiKey().key}`,
      'x-tenant-id': TENANT,
    });
    if (unknown.status !== 401)
      problems.push(`GET /bench with an unknown key answered ${unknown.status}, expected 401`);
  }
  if (problems.length > 0)
    throw new Error(
      `row ${running.row} (${running.name}) is not answering as it must:\n  - ${problems.join('\n  - ')}`,
    );
}

// ---------------------------------------------------------------------------------------------
// CPU accounting: who used the cores during a measurement. Other processes on the machine (an
// engineer's build or tests) distort a run; a measurement disturbed by them is repeated.

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
const OTHER_CPU_LIMIT = 0.15; // cores used by other processes above which a measurement is redone
const MAX_ATTEMPTS = 3; // per measurement
let retryBudget = 30; // per run, so a busy machine cannot stretch the run without bound
let retries = 0;

/** Busy time of the whole machine (steal included: time the hypervisor did not give us). */
function machineTicks() {
  const [user, nice, system, , , irq, softirq, steal = 0] = readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return user + nice + system + irq + softirq + steal;
}

/** CPU time of one process, every thread included. */
function processTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime
}

function cpuSnapshot(running) {
  return {
    at: performance.now(),
    machine: machineTicks(),
    target: processTicks(running.child.pid),
    runner: processTicks(process.pid),
  };
}

function cpuUse(before, after) {
  const seconds = (after.at - before.at) / 1000;
  const cores = (ticks) => ticks / CLK_TCK / seconds;
  const target = cores(after.target - before.target);
  const runner = cores(after.runner - before.runner);
  const other = Math.max(0, cores(after.machine - before.machine) - target - runner);
  return { targetCores: target, runnerCores: runner, otherCores: other };
}

// ---------------------------------------------------------------------------------------------
// Load.

function load(running, seconds) {
  const before = cpuSnapshot(running);
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://${HOST}:${running.port}/bench`,
        connections: CONNECTIONS,
        duration: seconds,
        headers: headersFor(running),
        timeout: 10,
      },
      (error, result) => {
        clearTimeout(timer);
        if (error) return reject(error);
        const bad = result.non2xx + result.errors + result.timeouts;
        if (bad > 0) {
          return reject(
            new Error(
              `row ${running.row} (${running.name}): ${result.non2xx} non-2xx, ${result.errors} ` +
                `errors, ${result.timeouts} timeouts under load (${JSON.stringify(result.statusCodeStats)})`,
            ),
          );
        }
        const after = cpuSnapshot(running);
        const cpu = cpuUse(before, after);
        // Target CPU time per answered request: what a request costs the target, much less
        // sensitive than req/s to other processes taking cores away.
        const cpuUsPerRequest = (((after.target - before.target) / CLK_TCK) * 1e6) / result.requests.total;
        resolve({
          rps: result.requests.average,
          p50: result.latency.p50,
          p99: result.latency.p99,
          mean: result.latency.mean,
          total: result.requests.total,
          cpuUsPerRequest,
          ...cpu,
        });
      },
    );
    const timer = setTimeout(
      () => {
        instance.stop();
        reject(new Error(`row ${running.row}: autocannon did not finish in time`));
      },
      (seconds + 30) * 1000,
    );
  });
}

/** `load`, repeated (bounded) while other processes took more than OTHER_CPU_LIMIT cores. */
async function measure(running, seconds) {
  let best;
  for (let attempt = 1; ; attempt++) {
    const result = await load(running, seconds);
    if (best === undefined || result.otherCores < best.otherCores) best = { ...result, attempts: attempt };
    if (result.otherCores <= OTHER_CPU_LIMIT || attempt >= MAX_ATTEMPTS || retryBudget <= 0) return best;
    retryBudget--;
    retries++;
    console.log(
      `    row ${running.row}: other processes used ${result.otherCores.toFixed(2)} cores meanwhile, measuring again`,
    );
    await sleep(2000);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// ---------------------------------------------------------------------------------------------
// Cache memory, in its own process with --expose-gc.

function cacheMemory() {
  const out = execFileSync(process.execPath, [...CHILD_EXEC_ARGV, '--expose-gc', join(DIST, 'cache-memory.js')], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, ...CHILD_ENV },
  });
  return JSON.parse(out.trim().split('\n').pop());
}

// ---------------------------------------------------------------------------------------------
// Machine.

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  let nproc = String(os.availableParallelism?.() ?? os.cpus().length);
  try {
    nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    // No nproc: the CPU count from os stays.
  }
  const memKb = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  const version = (name) =>
    JSON.parse(readFileSync(fileURLToPath(import.meta.resolve(`${name}/package.json`)), 'utf8')).version;
  let versions = {};
  try {
    versions = {
      nest: version('@nestjs/core'),
      express: version('express'),
      passport: version('passport'),
      '@nestjs/passport': version('@nestjs/passport'),
      autocannon: version('autocannon'),
      'better-sqlite3': version('better-sqlite3'),
    };
  } catch {
    // A package missing from this install: its version is left out.
  }
  let commit = 'unknown';
  try {
    const git = (...a) =>
      execFileSync('git', a, { cwd: BENCH_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    commit =
      `${git('rev-parse', '--short', 'HEAD')}` +
      `${git('status', '--porcelain', '--', '../lib') ? ' + uncommitted changes in lib/' : ''}`;
  } catch {
    // Not a git checkout: the commit stays unknown.
  }
  const build = PACKAGE_DIR ? `the build in ${PACKAGE_DIR} (--package-dir)` : `dist/esm built from commit ${commit}`;
  return {
    build,
    nproc,
    model,
    memory: `${(memKb / 2 ** 20).toFixed(1)} GiB`,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    versions,
  };
}

// ---------------------------------------------------------------------------------------------
// Profile mode: one target under --cpu-prof, loaded for --duration seconds.

function summarizeProfile(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const total = profile.samples.length;
  const label = (node) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^file:\/\//, '').replace(process.cwd() + '/', '')}:${lineNumber + 1}` : '';
    return `${functionName || '(anonymous)'} ${where}`.trim();
  };
  for (const [id, count] of counts) {
    const key = label(byId.get(id));
    self.set(key, (self.get(key) ?? 0) + count);
  }
  // Inclusive time per function: samples whose stack contains it (once per sample).
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map();
  for (const [id, count] of counts) {
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const key = label(byId.get(at));
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + count);
    }
  }
  // Self time by who owns the code.
  const PACKAGE = /(^|[ /])dist\/esm\/|experiments\/[^/]+\//;
  const area = (node) => {
    const { functionName, url } = node.callFrame;
    if (!url) return functionName.startsWith('(') ? functionName : `native: ${functionName || '(anonymous)'}`;
    if (PACKAGE.test(url) && !url.includes('node_modules')) return 'nest-keyring';
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    if (pkg)
      return pkg.startsWith('@nestjs/')
        ? pkg
        : [
              'express',
              'router',
              'body-parser',
              'finalhandler',
              'send',
              'parseurl',
              'etag',
              'content-type',
              'mime-types',
              'on-finished',
              'path-to-regexp',
              'qs',
              'type-is',
              'vary',
              'fresh',
              'accepts',
              'negotiator',
              'encodeurl',
              'escape-html',
              'statuses',
              'depd',
              'debug',
              'ms',
              'merge-descriptors',
              'cookie',
              'cookie-signature',
              'proxy-addr',
              'forwarded',
              'ipaddr.js',
              'range-parser',
              'safe-buffer',
              'setprototypeof',
              'content-disposition',
              'http-errors',
              'toidentifier',
              'inherits',
              'ee-first',
              'unpipe',
              'media-typer',
              'once',
              'wrappy',
              'is-promise',
              'iconv-lite',
              'raw-body',
              'bytes',
              'destroy',
              'mime-db',
              'object-inspect',
              'side-channel',
              'side-channel-list',
              'side-channel-map',
              'side-channel-weakmap',
              'call-bound',
              'get-intrinsic',
              'es-errors',
              'math-intrinsics',
              'dunder-proto',
              'function-bind',
              'hasown',
              'gopd',
              'has-symbols',
              'es-object-atoms',
              'es-define-property',
              'get-proto',
              'call-bind-apply-helpers',
            ].includes(pkg)
          ? 'express (and its deps)'
          : pkg;
    if (url.startsWith('node:'))
      return `node: ${url
        .slice(5)
        .split('/')[0]
        .replace(/^internal$/, 'internal/' + (url.split('/')[2] ?? ''))}`;
    return url.includes('/bench/dist/') ? 'bench target' : 'other';
  };
  const areas = new Map();
  for (const [id, count] of counts) {
    const key = area(byId.get(id));
    areas.set(key, (areas.get(key) ?? 0) + count);
  }
  const top = (map, n, filter = () => true) =>
    [...map]
      .filter(([key]) => filter(key))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, count]) => `  ${((100 * count) / total).toFixed(1).padStart(5)}%  ${key}`)
      .join('\n');
  return [
    `${total} samples`,
    'Self time, top 25:',
    top(self, 25),
    'Self time by owner (node internals by module), top 20:',
    top(areas, 20),
    'Inclusive time, nest-keyring and passport functions, top 25:',
    top(inclusive, 25, (key) => PACKAGE.test(key) || /passport/.test(key)),
  ].join('\n');
}

async function profileRow(row, key) {
  const target = ALL_TARGETS.find((t) => t.row === row);
  if (!target) throw new Error(`--profile: no row ${row}`);
  const dir = join(DIST, 'profiles');
  mkdirSync(dir, { recursive: true });
  const before = new Set(readdirSync(dir));
  const running = await startTarget(target, key, ['--cpu-prof', '--cpu-prof-dir', dir]);
  await verify(running);
  console.log(`profiling row ${row} (${target.name}): ${DURATION} s under load`);
  const result = await load(running, DURATION);
  console.log(`  ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms`);
  stopping = true;
  await stopTarget(running); // SIGTERM -> process.exit -> the profile is written
  const file = readdirSync(dir).find((name) => !before.has(name) && name.endsWith('.cpuprofile'));
  if (!file) throw new Error('no .cpuprofile was written');
  console.log(`profile: ${join(dir, file)}\n${summarizeProfile(join(dir, file))}`);
}

// ---------------------------------------------------------------------------------------------
// Report.

const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function table(rows) {
  const header = [
    'Row',
    'Target',
    'req/s (median)',
    'req/s min–max',
    'p50 ms',
    'p99 ms',
    'mean ms',
    'Ratio',
    'vs',
    'per-round ratio (median, min–max)',
    'CPU µs/req',
    'CPU ratio',
    'target CPU',
    'other CPU',
  ];
  const numeric = new Set([2, 3, 4, 5, 6, 7, 10, 11, 12, 13]);
  const lines = rows.map((r) => [
    r.row,
    r.name,
    fmt(r.rps),
    `${fmt(r.min)}–${fmt(r.max)}`,
    fmt(r.p50, 0),
    fmt(r.p99, 0),
    fmt(r.mean, 2),
    `${r.ratio.toFixed(3)}×`,
    `row ${r.baseline}`,
    `${r.roundRatio.toFixed(3)}× (${Math.min(...r.roundRatios).toFixed(2)}–${Math.max(...r.roundRatios).toFixed(2)})`,
    fmt(r.cpuUs, 1),
    `${r.cpuRatio.toFixed(3)}×`,
    r.targetCores.toFixed(2),
    r.otherCores.toFixed(2),
  ]);
  const md = [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (numeric.has(i) ? '---:' : '---')).join('|')}|`,
    ...lines.map((l) => `| ${l.join(' | ')} |`),
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const plain = [header, ...lines].map((l) =>
    l
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
  return { md: md.join('\n'), plain: plain.join('\n') };
}

// The targets, judged on Node 24 (Node 20 makes every overhead look 4× smaller than it is). Rows
// marked * are the --compare-package build's, judged the same way.
const PASSPORT_MARGIN = 1.3;
const GUARD_MICRO_LIMIT_US = 1.0;

// The `nest-keyring:*` channel checks a request makes while nobody subscribes, in µs.
const CHANNELS_QUIET_LIMIT_US = 0.02;

function verdicts(byRow, micro, diagnostics) {
  const out = [];
  const check = (label, pass, detail) => out.push({ label, pass, detail });
  const passport = byRow.get('3');
  for (const row of ['5', '5*']) {
    const r = byRow.get(row);
    if (!r) continue;
    check(`row ${row} (@ApiKeyAuth()) ≥ 0.90× row 2, requests/s`, r.ratio >= 0.9, `${r.ratio.toFixed(3)}×`);
    check(`row ${row} (@ApiKeyAuth()) ≥ 0.90× row 2, CPU per request`, r.cpuRatio >= 0.9, `${r.cpuRatio.toFixed(3)}×`);
    if (passport)
      check(
        `row ${row} (@ApiKeyAuth()) ≥ ${PASSPORT_MARGIN}× row 3 (passport), requests/s`,
        r.rps >= PASSPORT_MARGIN * passport.rps,
        `${fmt(r.rps)} vs ${fmt(passport.rps)} req/s (${(r.rps / passport.rps).toFixed(3)}×)`,
      );
  }
  for (const row of ['2b', '2b*']) {
    const r = byRow.get(row);
    if (r)
      check(
        `row ${row} (public route, ApiKeyModule imported) ≥ 0.98× row 2`,
        r.ratio >= 0.98,
        `${r.ratio.toFixed(3)}×`,
      );
  }
  for (const row of ['8b', '8b*']) {
    const r = byRow.get(row);
    if (r) check(`row ${row} (Express, both middlewares) ≥ 0.95× row 8a`, r.ratio >= 0.95, `${r.ratio.toFixed(3)}×`);
  }
  for (const [name, m] of Object.entries(micro)) {
    const tag = name === 'compare' ? ' [compare]' : '';
    check(
      `guard check in process${tag} ≤ ${GUARD_MICRO_LIMIT_US.toFixed(1)} µs over a no-op guard`,
      m.keyring <= GUARD_MICRO_LIMIT_US,
      `${m.keyring.toFixed(2)} µs`,
    );
    check(
      `guard check in process${tag} ≤ ½ of passport-headerapikey's`,
      m.keyring <= m.passport / 2,
      `${m.keyring.toFixed(2)} vs ${m.passport.toFixed(2)} µs (${(m.keyring / m.passport).toFixed(2)}×)`,
    );
  }
  if (diagnostics)
    check(
      `diagnostics channels free while nobody subscribes (≤ ${CHANNELS_QUIET_LIMIT_US} µs per request)`,
      diagnostics.calls <= CHANNELS_QUIET_LIMIT_US,
      `${diagnostics.calls.toFixed(3)} µs`,
    );
  return out;
}

/** An in-process micro-benchmark of bench/targets/ (guard-micro.js, diagnostics-cost.js), on this Node. */
function guardMicro(packageDir, file = 'guard-micro.js') {
  const output = execFileSync(process.execPath, [...childExecArgv(packageDir), join(DIST, file)], {
    env: { ...process.env, ...childEnv(packageDir), MICRO_JSON: '1' },
    encoding: 'utf8',
    timeout: 10 * 60_000,
  });
  return JSON.parse(output.trim().split('\n').at(-1));
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  tmpDir = mkdtempSync(join(os.tmpdir(), 'nest-keyring-bench-'));
  // One key for every in-memory target; the SQLite targets issue theirs through KeyAdmin
  // (also generateApiKey(), production). Each target reports the key it accepts.
  const { key } = generateApiKey({ environment: 'production' });

  if (args.profile) {
    await profileRow(args.profile, key);
    return;
  }

  let selected = args.diagnose ? ALL_TARGETS : TARGETS;
  if (args.only) {
    const wanted = new Set(args.only.split(',').map((s) => s.trim()));
    for (const row of [...wanted]) {
      if (!ALL_TARGETS.some((t) => t.row === row)) throw new Error(`--only: no row ${row}`);
      // Its baseline, and the baseline's own (row 8a is measured against row 2 too).
      wanted.add(baselineOf(row));
      wanted.add(baselineOf(baselineOf(row)));
    }
    selected = ALL_TARGETS.filter((t) => wanted.has(t.row));
  }
  if (COMPARE_DIR) {
    // Twins for the rows that load nest-keyring; the baselines need none.
    selected = selected.flatMap((t) =>
      (t.guarded && t.row !== '3') || t.row === '2b'
        ? [t, { ...t, row: `${t.row}*`, name: `${t.name} [compare]`, packageDir: COMPARE_DIR }]
        : [t],
    );
  }

  const info = machine();
  console.log(`nest-keyring bench: ${info.nproc} cores (${info.model}), ${info.memory}, node ${info.node}`);
  console.log(`package: ${info.build}`);
  if (COMPARE_DIR) console.log(`rows marked * run against ${COMPARE_DIR} (--compare-package)`);
  console.log(
    `${selected.length} targets; ${WARMUP} s warm-up each, then ${ROUNDS} interleaved rounds of ${DURATION} ` +
      `s, ${CONNECTIONS} connections, on ${HOST}\n`,
  );

  const running = [];
  for (const target of selected) {
    const r = await startTarget(target, key);
    await verify(r);
    console.log(
      `  row ${r.row.padEnd(2)} ${r.name}: pid ${r.child.pid}, port ${r.port}, answers 200` +
        `${r.guarded ? ', refuses missing and unknown keys (401)' : ''}`,
    );
    running.push(r);
  }

  if (WARMUP > 0) {
    console.log('\nwarm-up');
    for (const r of running) {
      const w = await load(r, WARMUP);
      console.log(`  row ${r.row.padEnd(2)} ${fmt(w.rps).padStart(7)} req/s`);
      await sleep(300);
    }
  }

  const samples = new Map(running.map((r) => [r.row, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order so no target always runs first or right after the same neighbour.
    const order = running.map((_, i) => running[(i + round) % running.length]);
    const line = [];
    for (const r of order) {
      const result = await measure(r, DURATION);
      samples.get(r.row).push({ ...result, round });
      line.push(`${r.row} ${fmt(result.rps)}`);
      await sleep(300);
    }
    console.log(`round ${round + 1}/${ROUNDS}: ${line.join(', ')}`);
  }

  // Still answering as it must after the load (e.g. the cache TTL expired during the rounds).
  for (const r of running) await verify(r);

  stopping = true;
  await Promise.all(running.map(stopTarget));

  console.log('\ncache memory (child process, --expose-gc)');
  const memory = cacheMemory();

  const summary = running.map((r) => {
    const s = samples.get(r.row);
    const rpsValues = s.map((x) => x.rps);
    return {
      row: r.row,
      name: r.name,
      rps: median(rpsValues),
      min: Math.min(...rpsValues),
      max: Math.max(...rpsValues),
      p50: median(s.map((x) => x.p50)),
      p99: median(s.map((x) => x.p99)),
      mean: median(s.map((x) => x.mean)),
      targetCores: median(s.map((x) => x.targetCores)),
      cpuUs: median(s.map((x) => x.cpuUsPerRequest)),
      otherCores: median(s.map((x) => x.otherCores)),
      baseline: baselineOf(r.row.replace('*', '')),
    };
  });
  const byRow = new Map(summary.map((r) => [r.row, r]));
  for (const r of summary) {
    r.ratio = r.rps / byRow.get(r.baseline).rps;
    // The same ratio taken round by round (each round's target over that round's baseline).
    const base = samples.get(r.baseline);
    r.roundRatios = samples.get(r.row).map((x, i) => x.rps / base[i].rps);
    r.roundRatio = median(r.roundRatios);
    r.cpuRatio = byRow.get(r.baseline).cpuUs / r.cpuUs;
  }

  console.log('\nguard check in process (bench/targets/guard-micro.ts)');
  const micro = { package: guardMicro(PACKAGE_DIR) };
  if (COMPARE_DIR) micro.compare = guardMicro(COMPARE_DIR);
  console.log('diagnostics channels on the guard path (bench/targets/diagnostics-cost.ts)');
  const diagnostics = guardMicro(undefined, 'diagnostics-cost.js');
  const run = {
    diagnostics,
    info,
    summary,
    memory,
    micro,
    retries,
    minutes: (Date.now() - started) / 60_000,
    command: ['node bench/run.mjs', ...process.argv.slice(2)].join(' '),
  };
  printRun(run);
  if (args.json) writeFileSync(args.json, JSON.stringify(run));
  if (!args['no-write']) writeResults([run]);
}

const major = (run) => run.info.node.replace(/^v/, '').split('.')[0];
// The Node whose figures the targets are judged on.
const JUDGED_ON = '24';
const judgedRun = (runs) => runs.find((run) => major(run) === JUDGED_ON) ?? runs.at(-1);

function memoryLines({ memory }) {
  return [
    `Lookup cache at its default bound (${fmt(memory.entries)} entries, every one a found key made with ` +
      `generateApiKey(), through Keyring.authenticate; heapUsed after gc, before vs after filling):`,
    `- cache bookkeeping only (the in-memory lookup returns the records the store already holds): ` +
      `**${memory.shared.mb.toFixed(2)} MB** (${fmt(memory.shared.bytesPerEntry)} bytes per entry)`,
    `- with the records too (the lookup returns a fresh record per call, as a database driver does; record = id, ` +
      `environment, 2 scopes, 2 tenants): **${memory.owned.mb.toFixed(2)} MB** (${fmt(memory.owned.bytesPerEntry)} ` +
      `bytes per entry)`,
    `- bound: after ${fmt(2 * memory.entries)} distinct keys the cache holds ${fmt(memory.bound.sizeAfter2N)} and ` +
      `the heap grew ${memory.bound.growthMb.toFixed(2)} MB past the full cache`,
  ];
}

function microLines(runs) {
  const lines = [
    '| Node | build | ApiKeyGuard, cache hit, tenant on | passport-headerapikey | rule-less guard | tenant scope |',
    '|---|---|---:|---:|---:|---|',
  ];
  for (const run of runs) {
    for (const [name, m] of Object.entries(run.micro)) {
      lines.push(
        `| ${run.info.node} | ${name === 'compare' ? 'compare (--compare-package)' : 'measured'} | ` +
          `${m.keyring.toFixed(2)} µs | ${m.passport.toFixed(2)} µs | ${m.ruleless.toFixed(2)} µs | ` +
          `${m.scoped ? 'opened by the module around each check' : 'entered by the guard'} |`,
      );
    }
  }
  return lines;
}

function printRun(run) {
  const { plain } = table(run.summary);
  console.log(memoryLines(run).join('\n').replaceAll('**', ''));
  console.log(`\n${plain}\n`);
  if (run.diagnostics)
    console.log(
      `diagnostics channels: the checks alone ${run.diagnostics.calls.toFixed(3)} µs per request while nobody ` +
        `subscribes; the guard ${run.diagnostics.quiet.toFixed(3)} µs quiet, ${run.diagnostics.observed.toFixed(3)} ` +
        'µs with every channel subscribed',
    );
  for (const [name, m] of Object.entries(run.micro))
    console.log(
      `guard check in process${name === 'compare' ? ' [compare]' : ''}: ApiKeyGuard ${m.keyring.toFixed(2)} µs, ` +
        `passport ${m.passport.toFixed(2)} µs, rule-less ${m.ruleless.toFixed(2)} µs over a no-op guard`,
    );
  const byRow = new Map(run.summary.map((r) => [r.row, r]));
  const judged = major(run) === JUDGED_ON ? '' : ` (informative: the targets are judged on Node ${JUDGED_ON})`;
  console.log(`\ntargets on Node ${run.info.node}${judged}:`);
  for (const c of verdicts(byRow, run.micro, run.diagnostics))
    console.log(`${c.pass ? 'MET   ' : 'MISSED'}  ${c.label}: ${c.detail}`);
  console.log(
    `\n(${run.minutes.toFixed(1)} min; ${run.retries} measurements repeated because other processes were busy)`,
  );
}

/** Rows of every run side by side: req/s, ratio and CPU per request on each Node. */
function sideBySide(runs) {
  const rows = [...new Map(runs.flatMap((run) => run.summary.map((r) => [r.row, r.name]))).entries()];
  const header = ['Row', 'Target', ...runs.flatMap((run) => [`${run.info.node} req/s`, 'ratio', 'CPU µs/req'])];
  const lines = [`| ${header.join(' | ')} |`, `|---|---|${runs.map(() => '---:|---:|---:').join('|')}|`];
  for (const [row, name] of rows) {
    const cells = runs.flatMap((run) => {
      const r = run.summary.find((x) => x.row === row);
      return r ? [fmt(r.rps), `${r.ratio.toFixed(3)}× (row ${r.baseline})`, fmt(r.cpuUs, 1)] : ['–', '–', '–'];
    });
    lines.push(`| ${row} | ${name} | ${cells.join(' | ')} |`);
  }
  return lines;
}

function writeResults(runs) {
  const judged = judgedRun(runs);
  const info = judged.info;
  const v = info.versions;
  const checks = verdicts(new Map(judged.summary.map((r) => [r.row, r])), judged.micro, judged.diagnostics);
  const doc = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (bench/run.mjs) at the end of its last run; every run overwrites it.',
    '',
    '## Machine',
    '',
    `- CPU: ${info.model}, \`nproc\` = ${info.nproc}`,
    `- Memory: ${info.memory}`,
    `- ${runs.map((run) => `Node ${run.info.node}`).join(' and ')}, ${info.os}`,
    `- Nest ${v.nest ?? '?'} (Express adapter), Express ${v.express ?? '?'}, ` +
      `@nestjs/passport ${v['@nestjs/passport'] ?? '?'}, passport ${v.passport ?? '?'}, ` +
      `better-sqlite3 ${v['better-sqlite3'] ?? '?'}, autocannon ${v.autocannon ?? '?'}`,
    `- Package measured: ${info.build}`,
    `- Run: ${new Date().toISOString()}, ${runs.reduce((sum, run) => sum + run.minutes, 0).toFixed(1)} min, ` +
      runs.map((run) => `\`${run.command}\``).join(' then '),
    '',
    '## Method',
    '',
    `Each target is its own Node process listening on ${HOST}; autocannon drives it from the runner process (the ` +
      `two share the machine's ${info.nproc} cores). ` +
      `Every target is checked before the load (200 and the same JSON body for a request with a valid ` +
      `\`generateApiKey()\` key; 401 without a key and with an unknown key where auth is on; the tenant and the ` +
      `tenant context where tenancy is on), ` +
      `warmed up for ${WARMUP} s, then measured in ${ROUNDS} interleaved rounds (order rotated each round) ` +
      `of ${DURATION} s with ${CONNECTIONS} connections, no pipelining. ` +
      `Every request carries \`Authorization: Bearer <key>\` and \`X-TENANT-ID: ${TENANT}\` (the same headers for ` +
      `every target); any non-2xx answer or error under load fails the run. ` +
      "req/s is the median over the rounds of autocannon's per-second average; p50, p99 and mean latency are " +
      'medians over the rounds too (autocannon reports p50/p99 in whole milliseconds). ' +
      "Ratio is the median req/s over row 2's (the unguarded Nest route) measured in the same run; rows 8b, x2, x3 " +
      'and x6 are over row 8a (plain Express). ' +
      '"Per-round ratio" takes the same ratio within each round and gives its median and range, a check on drift ' +
      'during the run. ' +
      '"CPU µs/req" is the target process\'s CPU time (every thread, from /proc) per answered request, median over ' +
      'the rounds; "CPU ratio" is the baseline\'s CPU µs/req over the row\'s, i.e. the req/s ratio one core would ' +
      'give with nothing else running; it is far less sensitive than req/s to other processes taking cores away. ' +
      `"target CPU" is the cores the target process used while loaded; "other CPU" is what every other process on ` +
      `the machine used meanwhile (the runner excluded). A measurement during which other processes used more than ` +
      `${OTHER_CPU_LIMIT} cores was repeated, up to ${MAX_ATTEMPTS} attempts, keeping the least disturbed ` +
      `(${runs.map((run) => `${run.retries} on Node ${major(run)}`).join(', ')}). ` +
      'Each Node is measured in a run of its own, one after the other. The guard check in process is ' +
      'bench/targets/guard-micro.ts: `canActivate` on a key the cache holds, tenant on, CPU time per check over a ' +
      'no-op guard, median of 5 rounds.',
    '',
    `## Targets (judged on Node ${judged.info.node})`,
    '',
    ...checks.map((c) => `- ${c.pass ? '✅ met' : '❌ missed'}: ${c.label} (${c.detail})`),
    '',
    '## Every Node side by side',
    '',
    ...sideBySide(runs),
    '',
    'Guard check in process (µs of CPU per check over a no-op guard):',
    '',
    ...microLines(runs),
    '',
    'Diagnostics channels (`nest-keyring:*`) on the guard path, µs of wall time per check (bench/targets/' +
      'diagnostics-cost.ts):',
    '',
    '| Node | nobody subscribed (over a no-op guard) | every channel subscribed | the channel checks alone |',
    '|---|---:|---:|---:|',
    ...runs
      .filter((run) => run.diagnostics)
      .map(
        ({ info, diagnostics: d }) =>
          `| ${info.node} | ${d.quiet.toFixed(3)} µs | ${d.observed.toFixed(3)} µs | ${d.calls.toFixed(3)} µs |`,
      ),
    '',
    ...runs.flatMap((run) => [`## Requests on Node ${run.info.node}`, '', table(run.summary).md, '']),
    ...(judged.summary.some((r) => r.row.startsWith('x'))
      ? [
          'Rows x1–x8 are diagnostics (`--diagnose`), not targets: they split the cost of rows 4, 5 and 8b into ' +
            'what Nest or Express charge for any guard, interceptor, middleware or async middleware, what an ' +
            '`AsyncLocalStorage` costs, and what nest-keyring itself adds.',
          '',
        ]
      : []),
    'Reproduce: `npm run bench` (add `-- --diagnose` for rows x1–x8; the other options are listed at the top of ' +
      'bench/run.mjs).',
    '',
    ...fleetLines(),
    `## Memory (Node ${judged.info.node})`,
    '',
    ...memoryLines(judged),
    '',
  ].join('\n');
  writeFileSync(join(BENCH_DIR, 'RESULTS.md'), doc);
  console.log('written: bench/RESULTS.md');
}

/** The replicas' figures from bench/fleet.mjs (run before this script by `npm run bench`), if any. */
function fleetLines() {
  const file = join(DIST, 'fleet.json');
  if (!existsSync(file)) return [];
  const fleet = JSON.parse(readFileSync(file, 'utf8'));
  const { revocation, rateLimit } = fleet;
  return [
    '## Replicas behind Redis (bench/fleet.mjs)',
    '',
    `From bench/fleet.mjs, ${fleet.when} on Node ${fleet.node} (two sample-app processes and a redis-server; ` +
      'details in bench/FLEET.md):',
    '',
    `- a revocation in one replica refused by the other after p50 **${revocation.p50Ms.toFixed(1)} ms**, ` +
      `p99 **${revocation.p99Ms.toFixed(1)} ms** (${revocation.samples} revocations)`,
    `- requests/s on one replica, rate limit counted in Redis vs no limit: ${fmt(rateLimit.onRps)} vs ` +
      `${fmt(rateLimit.offRps)} (${rateLimit.ratio.toFixed(2)}×); counted in memory: ${fmt(rateLimit.memoryRps)}`,
    '',
  ];
}

/** Measures each Node in a run of its own (`--node`), then writes every one side by side. */
async function measureNodes(majors) {
  const runs = [];
  const rest = process.argv
    .slice(2)
    .filter((arg, i, all) => !(arg === '--nodes' || arg.startsWith('--nodes=') || all[i - 1] === '--nodes'));
  for (const wanted of majors) {
    const file = join(os.tmpdir(), `nest-keyring-bench-${process.pid}-node${wanted}.json`);
    console.log(`\n=== Node ${wanted} ===`);
    const { status, signal } = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), '--node', wanted, '--json', file, '--no-write', ...rest],
      { stdio: 'inherit' },
    );
    if (status !== 0) throw new Error(`the run on Node ${wanted} failed (${signal ?? `exit ${status}`})`);
    runs.push(JSON.parse(readFileSync(file, 'utf8')));
    rmSync(file, { force: true });
  }
  const judged = judgedRun(runs);
  console.log(`\n=== targets, judged on Node ${judged.info.node} ===`);
  for (const c of verdicts(new Map(judged.summary.map((r) => [r.row, r])), judged.micro, judged.diagnostics))
    console.log(`${c.pass ? 'MET   ' : 'MISSED'}  ${c.label}: ${c.detail}`);
  if (!args['no-write']) writeResults(runs);
}

const thisMajor = process.versions.node.split('.')[0];
const majorsToMeasure = [...new Set((args.nodes ?? `${thisMajor},${JUDGED_ON}`).split(',').map((n) => n.trim()))];
const perNodeRun = args.node !== undefined || args.json !== undefined || args.profile !== undefined;

(perNodeRun ? main() : measureNodes(majorsToMeasure)).then(
  () => {
    cleanup();
    process.exit(0);
  },
  (error) => {
    console.error(`\nbench FAILED: ${error.message}`);
    cleanup();
    process.exit(1);
  },
);
