// Reads the fenced code blocks of README.md and docs/*.md, with what the docs test needs to know
// about each: its language, where it is, the hidden prelude before it, and the block that follows
// it (the requests or the output it claims).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CodeBlock {
  /** Path from the repository root, e.g. `docs/tenants.md`. */
  file: string;
  /** 1-based line of the block's first code line in `file`. */
  line: number;
  /** The fence's language, lower-cased (`ts`, `sh`, `text`, …; `''` when none). */
  lang: string;
  code: string;
  /** TypeScript from `<!-- prelude: … -->` right before the fence; `''` when there is none. */
  prelude: string;
  /** The next block of the same file when nothing but prose lies between (no heading, no other block). */
  next?: CodeBlock;
}

export interface MarkdownFile {
  file: string;
  text: string;
  blocks: CodeBlock[];
}

const TYPESCRIPT = new Set(['ts', 'typescript']);

export function isTypeScript(block: CodeBlock): boolean {
  return TYPESCRIPT.has(block.lang);
}

/** README.md and every docs/*.md, in a stable order. */
export function readDocs(root: string): MarkdownFile[] {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((name) => name.endsWith('.md'))
      .sort()
      .map((name) => `docs/${name}`),
  ];
  return files.map((file) => {
    const text = readFileSync(join(root, file), 'utf8');
    return { file, text, blocks: parseBlocks(file, text) };
  });
}

const FENCE = /^( *)(`{3,}|~{3,})\s*([\w+-]*)[^`]*$/;
const PRELUDE = /<!--\s*prelude:([\s\S]*?)-->\s*$/;

/** The fenced blocks of one Markdown file (fences may be indented, as inside list items). */
export function parseBlocks(file: string, text: string): CodeBlock[] {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  // Whether a heading or nothing but prose lies between the previous block and the current line.
  let headingSincePrevious = false;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const open = FENCE.exec(line);
    if (open === null) {
      if (/^ {0,3}#{1,6} /.test(line)) headingSincePrevious = true;
      continue;
    }
    const [, indent = '', fence = '', lang = ''] = open;
    const body: string[] = [];
    let end = index + 1;
    for (; end < lines.length; end++) {
      const candidate = lines[end]!;
      if (candidate.trim().startsWith(fence) && candidate.trim().replace(/[`~]/g, '') === '') break;
      body.push(candidate.startsWith(indent) ? candidate.slice(indent.length) : candidate.trimStart());
    }
    if (end === lines.length) throw new Error(`${file}:${index + 1}: code block never closed`);
    const block: CodeBlock = {
      file,
      line: index + 2,
      lang: lang.toLowerCase(),
      code: body.join('\n'),
      prelude: preludeBefore(lines, index),
    };
    const previous = blocks.at(-1);
    if (previous !== undefined && !headingSincePrevious) previous.next = block;
    blocks.push(block);
    headingSincePrevious = false;
    index = end;
  }
  return blocks;
}

/** The prelude in an HTML comment that ends on the last non-blank line before the fence at `fenceIndex`. */
function preludeBefore(lines: string[], fenceIndex: number): string {
  let end = fenceIndex - 1;
  while (end >= 0 && lines[end]!.trim() === '') end--;
  if (end < 0 || !lines[end]!.trim().endsWith('-->')) return '';
  let start = end;
  while (start >= 0 && !lines[start]!.includes('<!--')) start--;
  if (start < 0) return '';
  const match = PRELUDE.exec(
    lines
      .slice(start, end + 1)
      .join('\n')
      .trim(),
  );
  return match === null ? '' : match[1]!.trim();
}
