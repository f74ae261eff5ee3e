// The plain-Express examples of README.md and docs/*.md (the TypeScript blocks that import
// 'express') run in an app without Nest: each imports the package from 'nest-keyring/express',
// its imports load where `@nestjs/*`, `rxjs` and `reflect-metadata` cannot be resolved, and an
// example followed by requests answers them there as it claims.
//
// Runs in the nest12-esm project only (a *.spec.ts). Needs the built package: `npm run build`.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHILD_NODE_OPTIONS } from '../support/child-env.js';
import { isTypeScript, readDocs, type CodeBlock } from './markdown-blocks.js';
import { runApp } from './run-blocks.js';
import { isRequestScript, parseShellScript } from './shell-requests.js';
import { transpileBlock } from './typecheck-blocks.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const examples = readDocs(root)
  .flatMap((doc) => doc.blocks)
  .filter((block) => isTypeScript(block) && /from 'express'/.test(block.code));
const label = (block: CodeBlock) => `${block.file}:${block.line}`;

// Loaded before the example: Nest and its peers cannot be resolved, as in an app that never
// installed them. `registerHooks` where Node has it (`register` is deprecated on Node 26).
const WITHOUT_NEST = `
import module from 'node:module';
function resolve(specifier, context, next) {
  if (/^(@nestjs\\/|rxjs(\\/|$)|reflect-metadata$)/.test(specifier)) {
    const error = new Error(\`Cannot find package '\${specifier}' (an app without Nest)\`);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}
if (module.registerHooks) module.registerHooks({ resolve });
else module.register('data:text/javascript,' + encodeURIComponent(\`export \${resolve}\`));
`;

/** The example's import declarations (type-only ones are gone after transpiling). */
function importsOf(block: CodeBlock): string {
  return (transpileBlock(block).match(/^import\b[\s\S]*?['"][^'"]+['"];?$/gm) ?? []).join('\n');
}

describe('the plain-Express examples of README.md and docs/*.md', () => {
  let directory: string;
  let hook: string;
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'keyring-express-examples-'));
    hook = join(directory, 'without-nest.mjs');
    writeFileSync(hook, WITHOUT_NEST);
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  const nodeOptions = () => `${CHILD_NODE_OPTIONS} --import ${hook}`.trim();

  it('are found', () => {
    expect(examples.length).toBeGreaterThan(4);
  });

  it('cannot resolve Nest under the hook', () => {
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', "await import('nest-keyring')"], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: nodeOptions() },
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('(an app without Nest)');
  });

  it.each(examples.map((block) => [label(block), block] as const))(
    '%s imports the package from nest-keyring/express and loads without Nest',
    (_label, block) => {
      expect(block.code).not.toMatch(/from 'nest-keyring'/);
      const run = spawnSync(process.execPath, ['--input-type=module'], {
        cwd: root,
        input: `${importsOf(block)}\nconsole.log('loaded');`,
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: nodeOptions() },
      });
      expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({
        status: 0,
        stdout: 'loaded\n',
        stderr: '',
      });
    },
  );

  const apps = examples.filter(
    (block) => block.next !== undefined && isRequestScript(block.next.lang, block.next.code),
  );
  it.each(apps.map((block) => [label(block), block] as const))(
    '%s answers its requests without Nest',
    async (_label, block) => {
      const script = parseShellScript(block.next!.code, block.next!.line);
      const problems = await runApp(root, block, { ...script, env: { ...script.env, NODE_OPTIONS: nodeOptions() } });
      expect(problems).toEqual([]);
    },
    30_000,
  );
});
