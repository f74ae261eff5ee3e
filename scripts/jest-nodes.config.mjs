// Jest config for running the suites on a Node from .cache/node/ (scripts/test-nodes.mjs uses it):
// jest.config.js unchanged, except that `better-sqlite3` resolves to the copy built for the
// running Node's ABI by scripts/node-runtimes.mjs, in every project (ES modules and CommonJS).
// node_modules/better-sqlite3 stays built for the machine's own Node.
//
//   .cache/node/24/bin/node node_modules/jest/bin/jest.js --config scripts/jest-nodes.config.mjs
//   (with NODE_OPTIONS=--experimental-vm-modules, as `npm test` sets it)
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import base from '../jest.config.js';
import { ROOT, paths } from './node-runtimes.mjs';

const major = process.versions.node.split('.')[0];
const sqlite = paths(major).sqlite;
const stampFile = join(sqlite, '.build.json');
const stamp = existsSync(stampFile) ? JSON.parse(readFileSync(stampFile, 'utf8')) : undefined;
if (stamp?.abi !== process.versions.modules) {
  throw new Error(
    `No better-sqlite3 build for Node ${process.version} (ABI ${process.versions.modules}) in ${sqlite}: ` +
      `run \`node scripts/node-runtimes.mjs ${major}\` and run Jest with ${paths(major).node}`,
  );
}
const mapper = { '^better-sqlite3$': join(sqlite, 'lib', 'index.js') };

/** @type {import('jest').Config} */
export default {
  ...base,
  rootDir: ROOT,
  projects: base.projects.map((project) => ({
    ...project,
    rootDir: ROOT,
    moduleNameMapper: { ...mapper, ...project.moduleNameMapper },
  })),
};
