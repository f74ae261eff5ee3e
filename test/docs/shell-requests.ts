// Reads a ```sh block of the docs as the docs test runs it: `export NAME=value` lines set the
// app's environment, and every `curl` line is a request whose expected answer is the comment at
// the end of the line:
//
//   export WEBHOOK_SECRET=…                                  # the app is started with it
//   curl localhost:3000/api/v1/me -H "X-API-KEY: pk_…"       # 200 {"tenant":{"id":123}}
//   curl localhost:3000/api/v1/me                            # 401 AUTHENTICATION_REQUIRED
//
// The expectation is a status, then optionally an error code (compared with `body.error.code`)
// and/or a JSON object the response body must contain (a partial match). Only the curl options
// below are understood; anything else fails the test rather than being run differently than a
// reader's shell would run it.

export interface ExpectedAnswer {
  status: number;
  code?: string;
  body?: Record<string, unknown>;
}

export interface ShellRequest {
  /** 1-based line in the Markdown file. */
  line: number;
  /** The curl line as written (continuations joined). */
  source: string;
  method: string;
  url: URL;
  headers: [string, string][];
  body?: string;
  expected: ExpectedAnswer;
}

export interface ShellScript {
  env: Record<string, string>;
  requests: ShellRequest[];
}

/** True for a ```sh block that sends requests (it has a curl line). */
export function isRequestScript(lang: string, code: string): boolean {
  return ['sh', 'shell', 'bash', 'console'].includes(lang) && /^\s*curl\s/m.test(code);
}

/**
 * Parses a request script. `firstLine` is the Markdown line of the block's first line, for
 * messages.
 */
export function parseShellScript(code: string, firstLine: number): ShellScript {
  const env: Record<string, string> = {};
  const requests: ShellRequest[] = [];
  const lines = joinContinuations(code.split('\n'));
  for (const { text, line } of lines) {
    const where = `line ${firstLine + line}`;
    const { words, comment } = splitWords(text, env, where);
    if (words.length === 0) continue;
    const [command, ...args] = words;
    if (command === 'export') {
      for (const assignment of args) {
        const equals = assignment.indexOf('=');
        if (equals < 1) throw new Error(`${where}: cannot read "export ${assignment}"`);
        env[assignment.slice(0, equals)] = assignment.slice(equals + 1);
      }
      continue;
    }
    if (command !== 'curl')
      throw new Error(`${where}: a request block may hold only curl and export lines; found "${command}"`);
    if (comment === undefined)
      throw new Error(
        `${where}: a curl line must end with its expected answer, e.g. "# 200" or "# 401 AUTHENTICATION_REQUIRED"`,
      );
    requests.push({
      line: firstLine + line,
      source: text.trim(),
      ...parseCurl(args, where),
      expected: parseExpectation(comment, where),
    });
  }
  if (requests.length === 0) throw new Error(`block at line ${firstLine}: no curl line`);
  return { env, requests };
}

function joinContinuations(lines: string[]): { text: string; line: number }[] {
  const joined: { text: string; line: number }[] = [];
  let pending: { text: string; line: number } | undefined;
  lines.forEach((text, line) => {
    const current = pending ?? { text: '', line };
    if (text.endsWith('\\')) {
      current.text += text.slice(0, -1) + ' ';
      pending = current;
      return;
    }
    current.text += text;
    joined.push(current);
    pending = undefined;
  });
  if (pending !== undefined) joined.push(pending);
  return joined;
}

/** Shell words, as sh splits them: quotes, backslashes, `$NAME` / `${NAME}` from `env`, a trailing `# comment`. */
function splitWords(text: string, env: Record<string, string>, where: string): { words: string[]; comment?: string } {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  const variable = (rest: string): { value: string; length: number } => {
    const match = /^\$(?:\{(\w+)\}|(\w+))/.exec(rest);
    if (match === null) return { value: '$', length: 1 };
    const name = match[1] ?? match[2]!;
    if (!Object.hasOwn(env, name)) throw new Error(`${where}: $${name} is not exported earlier in the block`);
    return { value: env[name]!, length: match[0].length };
  };
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
      continue;
    }
    if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && /["\\$`]/.test(text[i + 1] ?? '')) word += text[++i];
      else if (char === '$') {
        const { value, length } = variable(text.slice(i));
        word += value;
        i += length - 1;
      } else word += char;
      continue;
    }
    if (/\s/.test(char)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      continue;
    }
    if (char === '#' && word === undefined) return { words, comment: text.slice(i + 1).trim() };
    word ??= '';
    if (char === "'" || char === '"') quote = char;
    else if (char === '\\') word += text[++i] ?? '';
    else if (char === '$') {
      const { value, length } = variable(text.slice(i));
      word += value;
      i += length - 1;
    } else word += char;
  }
  if (quote !== undefined) throw new Error(`${where}: unclosed ${quote}`);
  if (word !== undefined) words.push(word);
  return { words };
}

const IGNORED_FLAGS = new Set([
  '-i',
  '--include',
  '-s',
  '--silent',
  '-S',
  '--show-error',
  '-sS',
  '-v',
  '--verbose',
  '-f',
  '--fail',
]);

function parseCurl(args: string[], where: string): Pick<ShellRequest, 'method' | 'url' | 'headers' | 'body'> {
  let method: string | undefined;
  let url: string | undefined;
  let body: string | undefined;
  const headers: [string, string][] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = (): string => {
      const next = args[++i];
      if (next === undefined) throw new Error(`${where}: ${arg} needs a value`);
      return next;
    };
    if (arg === '-X' || arg === '--request') method = value();
    else if (arg === '-H' || arg === '--header') {
      const header = value();
      const colon = header.indexOf(':');
      if (colon < 1) throw new Error(`${where}: header "${header}" is not "Name: value"`);
      // As curl sends it: the value after the colon, trailing whitespace included.
      headers.push([header.slice(0, colon).trim(), header.slice(colon + 1).trimStart()]);
    } else if (arg === '-d' || arg === '--data' || arg === '--data-raw') body = value();
    else if (IGNORED_FLAGS.has(arg)) continue;
    else if (arg.startsWith('-')) throw new Error(`${where}: the docs test does not know the curl option ${arg}`);
    else if (url === undefined) url = arg;
    else throw new Error(`${where}: two URLs in one curl line`);
  }
  if (url === undefined) throw new Error(`${where}: curl without a URL`);
  // As curl does: -d sends a form body with POST unless told otherwise.
  if (body !== undefined && !headers.some(([name]) => name.toLowerCase() === 'content-type')) {
    headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
  }
  return {
    method: method ?? (body === undefined ? 'GET' : 'POST'),
    url: new URL(/^https?:\/\//.test(url) ? url : `http://${url}`),
    headers,
    body,
  };
}

function parseExpectation(comment: string, where: string): ExpectedAnswer {
  const match = /^(\d{3})(?:\s+([A-Z][A-Z0-9_]*))?(?:\s+(\{.*\}))?\s*$/.exec(comment);
  if (match === null) {
    throw new Error(
      `${where}: "# ${comment}" is not an expected answer: a status, then optionally a code and/or a JSON object, ` +
        `e.g. # 403 TENANT_NOT_FOUND`,
    );
  }
  const expected: ExpectedAnswer = { status: Number(match[1]) };
  if (match[2] !== undefined) expected.code = match[2];
  if (match[3] !== undefined) {
    try {
      expected.body = JSON.parse(match[3]) as Record<string, unknown>;
    } catch {
      throw new Error(`${where}: ${match[3]} is not JSON`);
    }
  }
  return expected;
}
