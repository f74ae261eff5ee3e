// Fails when files under lib/ import each other in a cycle, type-only imports included: a type
// two folders share belongs below both. Part of `npm run lint`.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve('lib');
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s+'(\.{1,2}\/[^']+)'/g;

/** Every .ts file below `dir` but the specs. */
function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !/\.(e2e-)?spec\.ts$/.test(entry.name) ? [path] : [];
  });
}

const files = sources(ROOT);
const known = new Set(files);
const graph = new Map(
  files.map((file) => {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(IMPORT)].map((match) => resolve(dirname(file), match[1].replace(/\.js$/, '.ts')));
    return [file, targets.filter((target) => known.has(target))];
  }),
);

// Depth-first search; a grey node met again closes a cycle.
const state = new Map();
const cycles = [];
function visit(file, path) {
  state.set(file, 'grey');
  for (const target of graph.get(file)) {
    if (state.get(target) === 'grey') cycles.push([...path.slice(path.indexOf(target)), target]);
    else if (!state.has(target)) visit(target, [...path, target]);
  }
  state.set(file, 'black');
}
for (const file of files) if (!state.has(file)) visit(file, [file]);

if (cycles.length > 0) {
  for (const cycle of cycles) console.error(`import cycle: ${cycle.map((file) => relative('.', file)).join(' -> ')}`);
  process.exit(1);
}
console.log(`no import cycles among ${files.length} files of lib/`);
