// Type-checks the TypeScript blocks of the docs with the compiler API, as files of the
// repository: the root tsconfig.json's options, and `import … from 'nest-keyring'` resolved the
// way `npm run typecheck` resolves it (the package's own `exports`, i.e. the built
// dist/esm/index.d.ts: run `npm run build` first).
import { dirname, join } from 'node:path';
import ts from 'typescript';
import type { CodeBlock } from './markdown-blocks.js';

/** Where a block lives while it is checked: a file beside its Markdown file that is never written. */
export function virtualPath(root: string, block: CodeBlock): string {
  return join(root, `${block.file}.line-${block.line}.ts`);
}

/**
 * The prelude, then the block, then `export {}` so that a block without imports is still a module
 * (its names stay its own, and top-level `await` is allowed). Returns the source and the number of
 * lines before the block's first line.
 */
export function snippetSource(block: CodeBlock): { source: string; offset: number } {
  const prelude = block.prelude === '' ? '' : `${block.prelude}\n`;
  return {
    source: `${prelude}${block.code}\nexport {};\n`,
    offset: prelude === '' ? 0 : prelude.split('\n').length - 1,
  };
}

function compilerOptions(root: string): ts.CompilerOptions {
  const configPath = join(root, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, (path) => ts.sys.readFile(path));
  if (config.error !== undefined) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, dirname(configPath));
  return { ...options, noEmit: true, declaration: false, sourceMap: false };
}

/** Compiler errors per block, as `file:line:column message` with Markdown lines; empty when it checks. */
export function typecheckBlocks(root: string, blocks: CodeBlock[]): Map<CodeBlock, string[]> {
  const sources = new Map<string, { block: CodeBlock; source: string; offset: number }>();
  for (const block of blocks) sources.set(virtualPath(root, block), { block, ...snippetSource(block) });

  const options = compilerOptions(root);
  const host = ts.createCompilerHost(options, true);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (path) => sources.has(path) || fileExists.call(host, path);
  host.readFile = (path) => sources.get(path)?.source ?? readFile.call(host, path);
  host.getSourceFile = (path, languageVersion, onError, shouldCreate) => {
    const snippet = sources.get(path);
    return snippet === undefined
      ? getSourceFile.call(host, path, languageVersion, onError, shouldCreate)
      : ts.createSourceFile(path, snippet.source, languageVersion, true);
  };
  const program = ts.createProgram({ rootNames: [...sources.keys()], options, host });

  const errors = new Map<CodeBlock, string[]>(blocks.map((block) => [block, []]));
  const global = [...program.getGlobalDiagnostics(), ...program.getOptionsDiagnostics()];
  if (global.length > 0) throw new Error(ts.formatDiagnostics(global, host));
  for (const [path, { block, offset }] of sources) {
    const sourceFile = program.getSourceFile(path)!;
    for (const diagnostic of [
      ...program.getSyntacticDiagnostics(sourceFile),
      ...program.getSemanticDiagnostics(sourceFile),
    ]) {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      if (diagnostic.start === undefined) {
        errors.get(block)!.push(message);
        continue;
      }
      const { line, character } = sourceFile.getLineAndCharacterOfPosition(diagnostic.start);
      const where =
        line < offset
          ? `${block.file}, prelude of the block at line ${block.line}`
          : `${block.file}:${block.line + line - offset}:${character + 1}`;
      errors.get(block)!.push(`${where} TS${diagnostic.code}: ${message}`);
    }
  }
  return errors;
}

/** The block as JavaScript (an ES module) to run with Node, emitted as `tsc` would for this repository. */
export function transpileBlock(block: CodeBlock): string {
  return transpileModule(snippetSource(block).source, `${block.file}.line-${block.line}.ts`);
}

/** TypeScript `source` as JavaScript (an ES module) to run with Node, emitted as `tsc` would for this repository. */
export function transpileModule(source: string, fileName?: string): string {
  return ts.transpileModule(source, {
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      esModuleInterop: true,
      isolatedModules: true,
    },
    fileName,
  }).outputText;
}
