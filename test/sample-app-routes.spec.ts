import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The route table of docs/sample-app.md lists every route the sample app's controllers declare.

const SOURCES = 'sample-app/src';

/** `METHOD /path` of every handler of the sample app's controllers, read from their decorators. */
function declaredRoutes(): string[] {
  const routes: string[] = [];
  const files = readdirSync(SOURCES, { recursive: true, encoding: 'utf8' }).filter((file) =>
    file.endsWith('.controller.ts'),
  );
  for (const file of files) {
    const source = readFileSync(join(SOURCES, file), 'utf8');
    const prefix = /@Controller\('([^']*)'\)/.exec(source)?.[1] ?? '';
    for (const [, method, path = ''] of source.matchAll(/@(Get|Post|Put|Patch|Delete)\((?:'([^']*)')?\)/g)) {
      const full = ['', prefix, path].filter((part, index) => index === 0 || part !== '').join('/');
      routes.push(`${method!.toUpperCase()} ${full}`);
    }
  }
  return routes.sort();
}

describe("the sample app's route table", () => {
  it('lists every route of its controllers', () => {
    const readme = readFileSync('docs/sample-app.md', 'utf8');
    const table = readme.slice(readme.indexOf('| Route | Needs |'));
    const listed = [...table.slice(0, table.indexOf('\n\n')).matchAll(/^\| `(\w+ \S+)`/gm)].map(([, route]) => route);
    const routes = declaredRoutes();
    expect(routes).toContain('GET /metrics');
    expect(routes.filter((route) => !listed.includes(route))).toEqual([]);
  });
});
