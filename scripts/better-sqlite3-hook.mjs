// Loaded with `node --import` (bench/run.mjs --node N puts it in NODE_OPTIONS): makes both
// `import 'better-sqlite3'` and `require('better-sqlite3')` load the copy that
// scripts/node-runtimes.mjs built for the running Node (.cache/node/<major>/better-sqlite3/),
// not node_modules/better-sqlite3, which is built for the machine's own Node.
// Needs module.registerHooks (Node 22.15+, 23.5+).
import { existsSync, readFileSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { paths } from './node-runtimes.mjs';

const major = process.versions.node.split('.')[0];
const dir = paths(major).sqlite;
const stampFile = join(dir, '.build.json');
const stamp = existsSync(stampFile) ? JSON.parse(readFileSync(stampFile, 'utf8')) : undefined;
if (stamp?.abi !== process.versions.modules) {
  throw new Error(
    `No better-sqlite3 build for Node ${process.version} in ${dir}: run \`node scripts/node-runtimes.mjs ${major}\``,
  );
}
if (typeof module.registerHooks !== 'function') {
  throw new Error(`Node ${process.version} has no module.registerHooks (Node 22.15+ has)`);
}
const url = pathToFileURL(join(dir, 'lib', 'index.js')).href;
module.registerHooks({
  resolve(specifier, context, nextResolve) {
    return specifier === 'better-sqlite3'
      ? { url, format: 'commonjs', shortCircuit: true }
      : nextResolve(specifier, context);
  },
});
