// docs/module.md's `bootstrap()` form, which the examples' top-level `await` links to, compiles
// as a CommonJS app on Nest 11 and 10 (the test/nest11 and test/nest10 workspaces); the
// top-level `await` form does not (TS1378), which is why the guide shows it.
//
// Runs in the nest12-esm project only (a *.spec.ts).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { readDocs } from './markdown-blocks.js';

const root = process.cwd();
const block = readDocs(root)
  .find((doc) => doc.file === 'docs/module.md')!
  .blocks.find((candidate) => candidate.code.includes('async function bootstrap()'))!;
const topLevelAwait = block.code.replace(/async function bootstrap\(\) \{\n([\s\S]*?)\n\}\nvoid bootstrap\(\);/, '$1');

describe("docs/module.md's bootstrap() form", () => {
  let directory: string;
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'keyring-bootstrap-'));
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  /** TypeScript's error codes for `code`, compiled as a CommonJS app against Nest `major`. */
  function errorCodes(code: string, major: string): number[] {
    const file = join(directory, `main-${major}-${Math.random().toString(36).slice(2)}.ts`);
    // The app module the block assumes, with what the package needs, in the same CommonJS app.
    writeFileSync(
      file,
      `import 'reflect-metadata';\nimport { Module } from '@nestjs/common';\n` +
        `import { ApiKeyModule } from 'nest-keyring';\n` +
        `@Module({ imports: [ApiKeyModule.forRoot({ lookup: { findKey: async () => null } })] })\n` +
        `class AppModule {}\n${code}\n`,
    );
    const nest = join(root, `test/nest${major}/node_modules/@nestjs`);
    const program = ts.createProgram([file], {
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      target: ts.ScriptTarget.ES2021,
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['node'],
      typeRoots: [join(root, 'node_modules/@types')],
      paths: {
        '@nestjs/*': [join(nest, '*')],
        'nest-keyring': [join(root, 'dist/cjs/index.d.ts')],
        'reflect-metadata': [join(root, 'node_modules/reflect-metadata')],
      },
    });
    return ts.getPreEmitDiagnostics(program).map((diagnostic) => diagnostic.code);
  }

  it('is in the guide, with top-level await nowhere in it', () => {
    expect(block).toBeDefined();
    expect(topLevelAwait).toContain('const app = await NestFactory.create(AppModule);');
    expect(topLevelAwait).not.toContain('bootstrap');
  });

  it.each(['11', '10'])(
    'compiles as CommonJS on Nest %s, where top-level await does not',
    (major) => {
      expect(errorCodes(block.code, major)).toEqual([]);
      expect(errorCodes(topLevelAwait, major)).toContain(1378);
    },
    60_000,
  );
});
