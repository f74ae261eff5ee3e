import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';

// What package.json promises about installs: the Node lines CI tests, and which dependencies may
// run install scripts (npm runs none it is not told about, and lists them after every install).

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
  engines: { node: string };
  allowScripts: Record<string, boolean>;
};
// The majors scripts/node-runtimes.mjs installs for CI: the keys of its RUNTIMES.
const runtimes = readFileSync('scripts/node-runtimes.mjs', 'utf8');
const MAJORS = [...runtimes.slice(runtimes.indexOf('export const RUNTIMES')).matchAll(/^ {2}(\d+): \{$/gm)].map(
  ([, major]) => major,
);
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
  packages: Record<string, { hasInstallScript?: boolean }>;
};

describe('package.json', () => {
  it('supports the Node majors CI tests, and no other', () => {
    const majors = manifest.engines.node.split('||').map((range) => /^\s*\^(\d+)/.exec(range)?.[1]);
    expect(majors).toEqual(MAJORS);
  });

  it('says of every dependency with an install script whether it may run it', () => {
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts.length).toBeGreaterThan(0);
    expect(withScripts.filter((name) => !(name in manifest.allowScripts))).toEqual([]);
    // The one that must: the sample app's SQLite binding is built or fetched by its install script.
    expect(manifest.allowScripts['better-sqlite3']).toBe(true);
  });
});
