// The error texts nest-keyring can produce, read from lib/ as patterns: every
// `new KeyringConfigError(…)`, `new TenantContextError(…)` and `new ApiKeyContextError(…)`, with
// each part computed at run time (`${name}`, a function call) matching any text. The
// troubleshooting guide quotes them; the docs test checks that each quote is a text the code can
// produce, and that no error goes unquoted.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

export interface ErrorMessage {
  /** Where it is thrown, e.g. `lib/core/options/keyring-options.ts:287`. */
  where: string;
  error: 'KeyringConfigError' | 'TenantContextError' | 'ApiKeyContextError';
  /** Matches the full message, as `error.message` holds it. */
  pattern: RegExp;
}

const ERRORS = new Set(['KeyringConfigError', 'TenantContextError', 'ApiKeyContextError']);
const ANY = '[\\s\\S]+?';

// Messages built by a function and thrown through a variable (`throw new KeyringConfigError(message)`).
const MESSAGE_BUILDERS: Record<string, string[]> = {
  'lib/core/webhooks/webhook-raw-body.ts': ['rawBodyStartupError'],
  'lib/core/options/duration.ts': ['durationMessage'],
};

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function libFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return libFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** The pattern of a message expression; names resolve to `const` strings of the same file. */
function patternOf(node: ts.Expression, constants: Map<string, ts.Expression>, depth = 0): string {
  if (depth > 5) return ANY;
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return escape(node.text);
  if (ts.isParenthesizedExpression(node)) return patternOf(node.expression, constants, depth);
  if (ts.isTemplateExpression(node)) {
    return (
      escape(node.head.text) +
      node.templateSpans
        .map((span) => patternOf(span.expression, constants, depth + 1) + escape(span.literal.text))
        .join('')
    );
  }
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    return patternOf(node.left, constants, depth) + patternOf(node.right, constants, depth);
  }
  if (ts.isConditionalExpression(node)) {
    return `(?:${patternOf(node.whenTrue, constants, depth + 1)}|${patternOf(node.whenFalse, constants, depth + 1)})`;
  }
  if (ts.isIdentifier(node) && constants.has(node.text))
    return patternOf(constants.get(node.text)!, constants, depth + 1);
  return ANY;
}

/** The text of a string expression (literals joined with `+`), or `undefined` if part of it is computed. */
function textOf(node: ts.Expression): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isParenthesizedExpression(node)) return textOf(node.expression);
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    const left = textOf(node.left);
    const right = textOf(node.right);
    return left === undefined || right === undefined ? undefined : left + right;
  }
  return undefined;
}

/** The description of `const name = Symbol.for(…)` in a file of lib/, e.g. `lib/nest/module/api-key.constants.ts`. */
export function symbolDescription(root: string, file: string, name: string): string | undefined {
  const path = join(root, file);
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
  let description: string | undefined;
  const visit = (node: ts.Node): void => {
    if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.name.text === name &&
      node.initializer !== undefined &&
      ts.isCallExpression(node.initializer) &&
      node.initializer.expression.getText(source) === 'Symbol.for' &&
      node.initializer.arguments[0] !== undefined
    ) {
      description = textOf(node.initializer.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return description;
}

/** Every error message lib/ can throw, with its pattern. */
export function libErrorMessages(root: string): ErrorMessage[] {
  const messages: ErrorMessage[] = [];
  for (const path of libFiles(join(root, 'lib'))) {
    const file = relative(root, path);
    const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, true);
    const constants = new Map<string, ts.Expression>();
    const found: { node: ts.Expression; error: ErrorMessage['error'] }[] = [];
    const visit = (node: ts.Node): void => {
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer !== undefined)
        constants.set(node.name.text, node.initializer);
      if (
        ts.isNewExpression(node) &&
        ts.isIdentifier(node.expression) &&
        ERRORS.has(node.expression.text) &&
        node.arguments?.[0] !== undefined
      ) {
        found.push({ node: node.arguments[0], error: node.expression.text as ErrorMessage['error'] });
      }
      if (
        ts.isFunctionDeclaration(node) &&
        node.name !== undefined &&
        MESSAGE_BUILDERS[file.split('\\').join('/')]?.includes(node.name.text)
      ) {
        const collect = (inner: ts.Node): void => {
          if (
            ts.isReturnStatement(inner) &&
            inner.expression !== undefined &&
            !(ts.isIdentifier(inner.expression) && inner.expression.text === 'undefined')
          ) {
            found.push({ node: inner.expression, error: 'KeyringConfigError' });
          }
          ts.forEachChild(inner, collect);
        };
        collect(node);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    for (const { node, error } of found) {
      const body = patternOf(node, constants);
      if (body === ANY) continue; // thrown through a variable: its builder is listed above
      const prefix = error === 'KeyringConfigError' ? escape('nest-keyring: ') : '';
      const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      messages.push({ where: `${file}:${line}`, error, pattern: new RegExp(`^${prefix}${body}$`) });
    }
  }
  return messages;
}
