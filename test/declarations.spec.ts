// The published declarations (dist/esm and dist/cjs, every entry) type-check with
// `skipLibCheck: false` against each Nest major users install: 12 (the root install), 11 and 10
// (the test/nest11 and test/nest10 workspaces, with their socket.io, ws and Swagger packages).
// Apps that check their libraries' types see what this sees.
//
// Runs in the nest12-esm project only (a *.spec.ts). Needs the built package: `npm run build`.
import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const root = process.cwd();
const ENTRIES = ['index', 'express', 'redis', 'swagger', 'socket.io', 'ws'];
// What the declarations import of Nest; the workspace of an older major provides each of them.
const NEST_PACKAGES = ['common', 'core', 'platform-socket.io', 'platform-ws', 'websockets', 'swagger'];

/** The errors the compiler finds in the package's own declarations against Nest from `modules`. */
function declarationErrors(modules: string | undefined): string[] {
  const paths: Record<string, string[]> = {};
  if (modules !== undefined) {
    for (const name of NEST_PACKAGES) {
      const dir = join(modules, '@nestjs', name);
      if (!existsSync(dir)) throw new Error(`${dir} is missing: run \`npm install\` (the test/nest* workspaces)`);
      paths[`@nestjs/${name}`] = [dir];
      paths[`@nestjs/${name}/*`] = [`${dir}/*`];
    }
    // One socket.io for the package and Nest's adapter, as npm installs it in an app.
    if (existsSync(join(modules, 'socket.io'))) paths['socket.io'] = [join(modules, 'socket.io')];
  }
  const program = ts.createProgram({
    rootNames: ['esm', 'cjs'].flatMap((format) => ENTRIES.map((entry) => join(root, 'dist', format, `${entry}.d.ts`))),
    options: {
      strict: true,
      skipLibCheck: false,
      noEmit: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      types: ['node'],
      experimentalDecorators: true,
      paths,
    },
  });
  const dist = join(root, 'dist');
  return ts
    .getPreEmitDiagnostics(program)
    .filter((diagnostic) => diagnostic.file === undefined || diagnostic.file.fileName.startsWith(dist))
    .map((diagnostic) => {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      if (diagnostic.file === undefined) return `TS${diagnostic.code}: ${message}`;
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      return `${relative(root, diagnostic.file.fileName)}:${line + 1} TS${diagnostic.code}: ${message}`;
    });
}

describe('the published declarations with skipLibCheck: false', () => {
  it('cover every entry of package.json', () => {
    const manifest = JSON.parse(ts.sys.readFile(join(root, 'package.json'))!) as { exports: Record<string, unknown> };
    const exported = Object.keys(manifest.exports)
      .filter((key) => key !== './package.json')
      .map((key) => (key === '.' ? 'index' : key.slice(2)));
    expect(exported.sort()).toEqual([...ENTRIES].sort());
    for (const format of ['esm', 'cjs'])
      expect(readdirSync(join(root, 'dist', format)).filter((file) => file.endsWith('.d.ts'))).toEqual(
        expect.arrayContaining(ENTRIES.map((entry) => `${entry}.d.ts`)),
      );
  });

  it.each([
    ['12', undefined],
    ['11', join(root, 'test/nest11/node_modules')],
    ['10', join(root, 'test/nest10/node_modules')],
  ])(
    'type-check against Nest %s',
    (_major, modules) => {
      expect(declarationErrors(modules)).toEqual([]);
    },
    120_000,
  );
});
