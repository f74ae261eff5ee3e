#!/usr/bin/env node
// `npm run test:nodes`: the Jest suites on each tested Node (22, 24, 26), one Node after another,
// with the Nodes and better-sqlite3 builds from scripts/node-runtimes.mjs (installed first if
// missing). Fails if any run fails; every Node runs even after a failure, so one run shows them all.
//
//   node scripts/test-nodes.mjs [options] [-- JEST_ARGS]
//     --node 22,24     only these Nodes (default: 22, 24, 26)
//     --quick          the Nest 11 and Nest 10 e2e runs (projects nest11-cjs, nest10-cjs) on
//                      Node 24 only; nest12-esm (every spec) still runs on every Node.
//                      Default: all three projects on every Node (see docs/node-versions.md)
//   Anything after `--` goes to Jest, e.g. `-- test/sample-app.e2e-spec.ts`.
//
// Expects a built dist/ (`npm run test:nodes` builds first). Jest runs with the config
// scripts/jest-nodes.config.mjs: jest.config.js, with better-sqlite3 taken from the build for
// the running Node.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MAJORS, ROOT, ensureRuntimes, runtimeEnv } from './node-runtimes.mjs';

const ALL_PROJECTS = ['nest12-esm', 'nest11-cjs', 'nest10-cjs'];
const QUICK_OLDER_NEST_ON = '24'; // with --quick, the one Node that also runs nest11-cjs and nest10-cjs

const dashdash = process.argv.indexOf('--', 2);
const ownArgs = dashdash === -1 ? process.argv.slice(2) : process.argv.slice(2, dashdash);
const jestArgs = dashdash === -1 ? [] : process.argv.slice(dashdash + 1);
const { values: args } = parseArgs({
  args: ownArgs,
  options: {
    node: { type: 'string' },
    quick: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(
    readFileSync(new URL(import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('//'))
      .slice(0, 11)
      .map((l) => l.slice(3))
      .join('\n'),
  );
  process.exit(0);
}
const majors = args.node
  ? args.node
      .split(',')
      .map((m) => m.trim().replace(/^v/, ''))
      .filter(Boolean)
  : MAJORS;
const projectsFor = (major) => (!args.quick || major === QUICK_OLDER_NEST_ON ? ALL_PROJECTS : ['nest12-esm']);

if (!existsSync(join(ROOT, 'dist', 'esm', 'index.js')) || !existsSync(join(ROOT, 'dist', 'cjs', 'index.js'))) {
  console.error('test-nodes: dist/ is not built: run `npm run build` first (or `npm run test:nodes`, which does)');
  process.exit(1);
}

const line = '='.repeat(78);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

async function runJest(runtime, projects) {
  const outDir = mkdtempSync(join(os.tmpdir(), 'test-nodes-'));
  const outputFile = join(outDir, 'results.json');
  const argv = [
    join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'),
    '--config',
    join(ROOT, 'scripts', 'jest-nodes.config.mjs'),
    '--selectProjects',
    ...projects,
    '--json',
    '--outputFile',
    outputFile,
    ...jestArgs,
  ];
  const nodeOptions = ['--experimental-vm-modules', process.env.NODE_OPTIONS].filter(Boolean).join(' ');
  // Processes the tests start themselves (the sample app, the CLI) load the better-sqlite3 built
  // for this Node too, as Jest's own modules do through scripts/jest-nodes.config.mjs
  // (test/support/child-env.ts).
  const childNodeOptions = `--import=${join(ROOT, 'scripts', 'better-sqlite3-hook.mjs')}`;
  const started = performance.now();
  const code = await new Promise((resolve) => {
    const child = spawn(runtime.node, argv, {
      cwd: ROOT,
      stdio: 'inherit',
      env: runtimeEnv(runtime.major, {
        NODE_OPTIONS: nodeOptions,
        NEST_KEYRING_CHILD_NODE_OPTIONS: childNodeOptions,
      }),
    });
    child.on('error', (error) => {
      console.error(`test-nodes: could not start ${runtime.node}: ${error.message}`);
      resolve(1);
    });
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
  const ms = performance.now() - started;
  let results;
  try {
    results = JSON.parse(readFileSync(outputFile, 'utf8'));
  } catch {
    results = undefined;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  const failedTests = [];
  for (const suite of results?.testResults ?? []) {
    if (suite.status === 'failed' && !suite.assertionResults?.some((a) => a.status === 'failed')) {
      failedTests.push(
        `${suite.name.replace(`${ROOT}/`, '')}: ` +
          `${(suite.message ?? '').split('\n').find((l) => l.trim()) ?? 'suite failed to run'}`,
      );
    }
    for (const a of suite.assertionResults ?? [])
      if (a.status === 'failed') failedTests.push(`${suite.name.replace(`${ROOT}/`, '')}: ${a.fullName}`);
  }
  return {
    ok: code === 0 && results?.success === true,
    code,
    ms,
    passed: results?.numPassedTests ?? 0,
    failed: results?.numFailedTests ?? 0,
    skipped: (results?.numPendingTests ?? 0) + (results?.numTodoTests ?? 0),
    suites: results?.numTotalTestSuites ?? 0,
    failedSuites: results?.numFailedTestSuites ?? 0,
    failedTests,
  };
}

async function main() {
  const started = performance.now();
  console.log(`${line}\nPreparing Node ${majors.join(', ')} (.cache/node)\n${line}`);
  const runtimes = await ensureRuntimes(majors);
  const prepared = performance.now() - started;

  const summary = [];
  for (const runtime of runtimes) {
    const projects = projectsFor(runtime.major);
    console.log(`\n${line}\nNode ${runtime.version} (ABI ${runtime.abi}): ${projects.join(', ')}\n${line}\n`);
    const result = await runJest(runtime, projects);
    summary.push({ runtime, projects, ...result });
    console.log(
      `\n${line}\nNode ${runtime.version}: ${result.ok ? 'PASSED' : 'FAILED'}: ` +
        `${result.passed} passed, ${result.failed} failed${result.skipped ? `, ${result.skipped} skipped` : ''} ` +
        `in ${result.suites} suites (${seconds(result.ms)})\n${line}`,
    );
  }

  console.log(
    `\n${line}\nSummary (Node ${majors.join(', ')}; ` +
      `setup ${seconds(prepared)}, total ${seconds(performance.now() - started)})\n${line}`,
  );
  for (const r of summary) {
    console.log(
      `  Node ${r.runtime.version.padEnd(8)} ${(r.ok ? 'passed' : 'FAILED').padEnd(7)} ` +
        `${String(r.passed).padStart(5)} passed, ${r.failed} failed, ${r.suites} suites, ` +
        `${seconds(r.ms).padStart(7)}  [${r.projects.join(', ')}]`,
    );
    if (!r.ok && r.code !== 0 && !r.failedTests.length) console.log(`    Jest exited with code ${r.code}`);
    for (const name of r.failedTests.slice(0, 20)) console.log(`    ✗ ${name}`);
    if (r.failedTests.length > 20) console.log(`    … and ${r.failedTests.length - 20} more`);
  }
  const passed = summary.reduce((n, r) => n + r.passed, 0);
  const failed = summary.reduce((n, r) => n + r.failed + (r.ok || r.failed ? 0 : 1), 0);
  console.log(`nodes: ${passed} passed, ${failed} failed`);
  if (summary.some((r) => !r.ok)) process.exitCode = 1;
}

main().catch((error) => {
  console.error(`test-nodes: ${error.message}`);
  process.exitCode = 1;
});
