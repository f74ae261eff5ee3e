// The README and the guides in docs/ are tested like code (see "Examples are tests" in
// docs/architecture.md):
//
// 1. Every ```ts block type-checks against the built package, with the prelude in the
//    `<!-- prelude: … -->` comment right before it, if any (names the block assumes: a `lookup`,
//    an `AppModule`, …). Renderers hide the comment.
// 2. A ```ts block followed by a ```sh block of curl lines is an app: it is started and sent each
//    request; each answer must be the one the comment at the end of its curl line claims.
//    A ```ts block followed by a ```text block must print exactly that text.
// 3. Relative links lead to files (and headings) that exist, and never into folders the npm
//    package lacks; every error text the troubleshooting guide quotes is one lib/ can produce, and
//    every error lib/ can produce is quoted there.
//
// Runs in the nest12-esm project only (a *.spec.ts). Needs the built package: `npm run build`.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { libErrorMessages, symbolDescription } from './error-messages.js';
import { isTypeScript, readDocs, type CodeBlock } from './markdown-blocks.js';
import { runApp, runProgram } from './run-blocks.js';
import { isRequestScript, parseShellScript } from './shell-requests.js';
import { typecheckBlocks } from './typecheck-blocks.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const docs = readDocs(root);
const blocks = docs.flatMap((doc) => doc.blocks);
const typescriptBlocks = blocks.filter(isTypeScript);
const label = (block: CodeBlock) => `${block.file}:${block.line}`;

const apps = typescriptBlocks.filter(
  (block) => block.next !== undefined && isRequestScript(block.next.lang, block.next.code),
);
const programs = typescriptBlocks.filter((block) => block.next?.lang === 'text');

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
const settle = <T>(promise: Promise<T>): Promise<Settled<T>> =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
const unwrap = <T>(settled: Settled<T>): T => {
  if (!settled.ok) throw settled.error;
  return settled.value;
};

/** Runs `tasks` at most `limit` at a time; each result is there as soon as it is done. */
function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<Settled<T>>[] {
  const results: Promise<Settled<T>>[] = [];
  const slots = Array.from({ length: limit }, () => Promise.resolve());
  tasks.forEach((task, index) => {
    const slot = index % limit;
    const result = slots[slot]!.then(() => settle(task()));
    slots[slot] = result.then(() => undefined);
    results.push(result);
  });
  return results;
}

describe('the code blocks of README.md and docs/*.md', () => {
  let typeErrors: Map<CodeBlock, string[]>;
  const runs = new Map<CodeBlock, Promise<Settled<string[] | string>>>();

  beforeAll(() => {
    if (!existsSync(join(root, 'dist/esm/index.d.ts')))
      throw new Error('the docs test needs the built package: run `npm run build`');
    // The apps and programs start at once (a few at a time) and run while the types are checked.
    const tasks = [
      ...apps.map((block) => () => runApp(root, block, parseShellScript(block.next!.code, block.next!.line))),
      ...programs.map((block) => () => runProgram(root, block)),
    ];
    pool<string[] | string>(tasks, 4).forEach((result, index) => runs.set([...apps, ...programs][index]!, result));
    typeErrors = typecheckBlocks(root, typescriptBlocks);
  }, 60_000);

  it('include TypeScript, apps with requests and programs with their output', () => {
    expect(typescriptBlocks.length).toBeGreaterThan(20);
    expect(apps.length).toBeGreaterThan(3);
    expect(programs.length).toBeGreaterThan(0);
  });

  it.each(typescriptBlocks.map((block) => [label(block), block] as const))('%s type-checks', (_label, block) => {
    expect(typeErrors.get(block)).toEqual([]);
  });

  it.each(apps.map((block) => [label(block), block] as const))(
    '%s answers the requests below it as they claim',
    async (_label, block) => {
      expect(unwrap(await runs.get(block)!)).toEqual([]);
    },
    30_000,
  );

  it.each(programs.map((block) => [label(block), block] as const))(
    '%s prints the output below it',
    async (_label, block) => {
      expect((unwrap(await runs.get(block)!) as string).trimEnd()).toBe(block.next!.code.trimEnd());
    },
    30_000,
  );

  it('have no requests without the app they go to', () => {
    const orphans = blocks.filter(
      (block) => isRequestScript(block.lang, block.code) && !apps.some((app) => app.next === block),
    );
    expect(orphans.map(label)).toEqual([]);
  });
});

// GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered.
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^ *(```|~~~)/.test(line)) inFence = !inFence;
    const heading = inFence ? null : /^#{1,6} (.*)$/.exec(line);
    if (heading === null) continue;
    const slug = heading[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

// Not in the npm package (package.json "files"): a relative link there is broken for its readers.
const OUTSIDE_THE_PACKAGE = ['sample-app/', 'bench/', 'test/', 'lib/', 'scripts/', '.ci/'];

describe('the links of README.md and docs/*.md', () => {
  it.each(docs.map((doc) => [doc.file, doc] as const))(
    '%s links only to files and headings that exist',
    (_file, doc) => {
      const broken: string[] = [];
      const prose = doc.text.replace(/^ *(```|~~~)[\s\S]*?^ *\1 *$/gm, '');
      for (const [, target = ''] of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        if (/^[a-z]+:/i.test(target)) continue;
        const [path = '', anchor] = target.split('#');
        const file = path === '' ? doc.file : normalize(join(dirname(doc.file), path));
        if (OUTSIDE_THE_PACKAGE.some((folder) => file.startsWith(folder))) {
          broken.push(`${target}: not in the npm package; name it as plain text ("the repository's ${file}")`);
        } else if (!existsSync(join(root, file))) broken.push(`${target}: no such file`);
        else if (
          anchor !== undefined &&
          file.endsWith('.md') &&
          !anchorsOf(readFileSync(join(root, file), 'utf8')).has(anchor)
        ) {
          broken.push(`${target}: no such heading in ${file}`);
        }
      }
      expect(broken).toEqual([]);
    },
  );
});

describe('docs/troubleshooting.md', () => {
  const guide = docs.find((doc) => doc.file === 'docs/troubleshooting.md');
  const quoted = (guide?.blocks ?? [])
    .filter((block) => block.lang === 'text')
    .flatMap((block) => block.code.split('\n').filter((line) => line.trim() !== ''));
  const messages = libErrorMessages(root);

  it('quotes only error texts that lib/ produces', () => {
    expect(messages.length).toBeGreaterThan(30);
    const unknown = quoted.filter(
      (line) => line.startsWith('nest-keyring:') && !messages.some((message) => message.pattern.test(line)),
    );
    expect(unknown).toEqual([]);
  });

  it('quotes every KeyringConfigError, TenantContextError and ApiKeyContextError of lib/', () => {
    const missing = messages
      .filter((message) => !quoted.some((line) => message.pattern.test(line)))
      .map((message) => `${message.where} ${message.pattern.source}`);
    expect(missing).toEqual([]);
  });

  it("quotes Nest's error for a module that cannot see ApiKeyModule, with the fix nest-keyring puts in it", () => {
    const description = symbolDescription(root, 'lib/nest/module/api-key.constants.ts', 'KEYRING');
    expect(description).toContain('import ApiKeyModule.forRoot()');
    expect(
      quoted.filter(
        (line) => line.startsWith("Nest can't resolve dependencies") && line.includes(`Symbol(${description})`),
      ),
    ).toHaveLength(1);
  });
});
