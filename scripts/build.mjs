// Builds the package twice, as ES modules (dist/esm) and as CommonJS (dist/cjs), so that
// Nest 12 (ESM only) apps and Nest 10/11 CommonJS apps both load it natively; with
// --sample-app, then the sample app (sample-app/dist), which `npm start` and `npm run keys` run.
//
//   node scripts/build.mjs [--sample-app] [--quiet]
//
// Builds never break another process: each output is rebuilt only when a hash of its sources
// differs from the one saved in it, is compiled into a fresh directory beside it and swapped in
// by rename (a running app keeps the files it has open), and one build at a time holds a lock
// (a second `npm start` waits for the first one's build, then finds everything up to date).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LOCK = join(ROOT, '.build.lock');
const STAMP = '.build-stamp';
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const quiet = process.argv.includes('--quiet');

const TARGETS = [
  {
    name: 'package',
    output: 'dist',
    inputs: [
      'lib',
      'tsconfig.json',
      'tsconfig.build.json',
      'tsconfig.build.cjs.json',
      'package.json',
      'package-lock.json',
    ],
    compile(outDir) {
      tscInto('tsconfig.build.json', join(outDir, 'esm'));
      tscInto('tsconfig.build.cjs.json', join(outDir, 'cjs'));
      // The root package.json says "type": "module"; this marks the CommonJS half as such.
      writeFileSync(join(outDir, 'cjs', 'package.json'), JSON.stringify({ type: 'commonjs' }) + '\n');
    },
  },
  {
    name: 'sample app',
    output: 'sample-app/dist',
    // The package's stamp stands for its declarations, which the sample app compiles against.
    inputs: ['sample-app/src', 'sample-app/tsconfig.json', 'tsconfig.json', `dist/${STAMP}`],
    compile: (outDir) => tscInto('sample-app/tsconfig.json', outDir),
  },
];

function tscInto(project, outDir) {
  execFileSync(process.execPath, [tsc, '-p', project, '--outDir', outDir], { cwd: ROOT, stdio: 'inherit' });
}

function files(path) {
  // A missing input (the package's stamp before its first build) hashes as nothing.
  const stats = statSync(path, { throwIfNoEntry: false });
  if (stats === undefined) return [];
  if (!stats.isDirectory()) return [path];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** What the output is built from: the compiler's version, then each input file's path and contents. */
function sourceHash(target) {
  const hash = createHash('sha256').update(require('typescript/package.json').version);
  for (const input of target.inputs)
    for (const file of files(join(ROOT, input))) hash.update(`\0${relative(ROOT, file)}\0`).update(readFileSync(file));
  return hash.digest('hex');
}

function builtHash(target) {
  try {
    return readFileSync(join(ROOT, target.output, STAMP), 'utf8');
  } catch {
    return undefined;
  }
}

function build(target, hash) {
  const output = join(ROOT, target.output);
  // Left by a build that was stopped (Ctrl-C): under the lock, no other build is using them.
  for (const name of readdirSync(dirname(output)))
    if (name.startsWith(`${basename(output)}.build-`) || name.startsWith(`${basename(output)}.old-`))
      rmSync(join(dirname(output), name), { recursive: true, force: true });
  // Beside the output, at the same depth, so that source maps' relative paths hold after the swap.
  const fresh = `${output}.build-${process.pid}`;
  const old = `${output}.old-${process.pid}`;
  rmSync(fresh, { recursive: true, force: true });
  try {
    target.compile(fresh);
    writeFileSync(join(fresh, STAMP), hash);
    // Two renames: no moment with half an output. A process that has loaded the old files keeps them.
    try {
      renameSync(output, old);
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
    }
    renameSync(fresh, output);
  } finally {
    rmSync(fresh, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** mkdir is atomic: whoever creates the directory holds the lock; a dead holder's lock is taken over. */
function lock() {
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    let holder;
    try {
      holder = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
    } catch {
      // Just created, its pid not written yet; or left by a crash between the two steps.
      if (Date.now() - lockAge() > 10_000) rmSync(LOCK, { recursive: true, force: true });
    }
    if (holder && !alive(holder)) rmSync(LOCK, { recursive: true, force: true });
    else if (Date.now() - started > 600_000) throw new Error(`build: ${LOCK} held by process ${holder} for 10 min`);
    else {
      if (!told && !quiet) console.error(`build: waiting for another build (process ${holder ?? '?'})`);
      told = true;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
}

function lockAge() {
  try {
    return statSync(LOCK).mtimeMs;
  } catch {
    return Date.now();
  }
}

const targets = process.argv.includes('--sample-app') ? TARGETS : TARGETS.slice(0, 1);
if (targets.some((target) => builtHash(target) !== sourceHash(target))) {
  lock();
  try {
    // Checked again under the lock: another build may just have done the work.
    for (const target of targets) {
      const hash = sourceHash(target);
      if (builtHash(target) === hash) continue;
      if (!quiet) console.error(`build: ${target.name} -> ${target.output}`);
      build(target, hash);
    }
  } catch (error) {
    // tsc has printed its errors; its exit status is enough.
    if (typeof error.status !== 'number') throw error;
    process.exitCode = error.status;
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
