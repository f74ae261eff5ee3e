// Runs the TypeScript blocks of the docs that claim something observable, the way a reader would:
// as a Node program in the repository, where `import … from 'nest-keyring'` loads the built
// package (dist/esm, through the package's own `exports`) and every other import the installed
// dependencies.
//
// - A block followed by a request block (```sh with curl lines) is an app: it is started with the
//   request block's `export`s in its environment, on a port the system picks instead of the 3000
//   it listens on (so that nothing else on the machine can take it meanwhile), and each request is
//   sent to it in order; every answer must be the one its line claims.
// - A block followed by a ```text block is a program: it must print exactly that text. An error
//   that ends it is printed as `Name: message` (the first line of what Node prints), so a block
//   can show the error a mistake produces.
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import type { CodeBlock } from './markdown-blocks.js';
import type { ShellRequest, ShellScript } from './shell-requests.js';
import { transpileBlock } from './typecheck-blocks.js';
import { CHILD_NODE_OPTIONS } from '../support/child-env.js';

const dataUrl = (javascript: string) => `data:text/javascript,${encodeURIComponent(javascript)}`;

// Loaded before the block: an error that ends the program is printed as `Name: message`.
const PRINT_UNCAUGHT = dataUrl(
  "process.on('uncaughtException', (error) => { " +
    'process.stdout.write(`${error?.name}: ${error?.message}\\n`); process.exit(1); });',
);

// Loaded before an app: tells the test (over the IPC channel) the port its server listens on.
const REPORT_PORT = dataUrl(
  "import net from 'node:net'; const listen = net.Server.prototype.listen; " +
    'net.Server.prototype.listen = function (...args) { ' +
    "this.once('listening', () => { const address = this.address(); " +
    "if (typeof address === 'object' && address !== null) process.send?.({ port: address.port }); }); " +
    'return listen.apply(this, args); };',
);

interface Program {
  child: ChildProcess;
  output: () => { stdout: string; stderr: string };
  exited: Promise<number | null>;
}

function startProgram(root: string, javascript: string, env: Record<string, string>, preload: string[] = []): Program {
  const child = spawn(
    process.execPath,
    ['--import', PRINT_UNCAUGHT, ...preload.flatMap((url) => ['--import', url]), '--input-type=module'],
    {
      cwd: root,
      // NODE_OPTIONS: Jest's --experimental-vm-modules is not for the program.
      env: { ...process.env, NODE_OPTIONS: CHILD_NODE_OPTIONS, NO_COLOR: '1', ...env },
      stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stdin!.end(javascript);
  return { child, exited, output: () => ({ stdout, stderr }) };
}

async function stop(program: Program): Promise<void> {
  if (program.child.exitCode === null && program.child.signalCode === null) program.child.kill('SIGTERM');
  await program.exited;
}

function describeOutput(program: Program): string {
  const { stdout, stderr } = program.output();
  return `--- the program's stdout ---\n${stdout.trim()}\n--- its stderr ---\n${stderr.trim()}`;
}

/** Runs a program block to its end and returns what it printed; fails after `timeoutMs`. */
export async function runProgram(root: string, block: CodeBlock, timeoutMs = 10_000): Promise<string> {
  const program = startProgram(root, transpileBlock(block), {});
  const timer = setTimeout(() => program.child.kill('SIGKILL'), timeoutMs);
  const code = await program.exited;
  clearTimeout(timer);
  if (program.child.signalCode === 'SIGKILL')
    throw new Error(`did not end within ${timeoutMs} ms\n${describeOutput(program)}`);
  const { stdout, stderr } = program.output();
  if (code !== 0 && !stdout.includes(': ')) throw new Error(`exited with ${code}\n${describeOutput(program)}`);
  if (stderr.trim() !== '') throw new Error(`wrote to stderr\n${describeOutput(program)}`);
  return stdout;
}

/** The port the app's server listens on, once it does. */
function listening(program: Program, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the app did not listen within ${timeoutMs} ms\n${describeOutput(program)}`)),
      timeoutMs,
    );
    program.child.once('message', (message: { port?: unknown }) => {
      clearTimeout(timer);
      if (typeof message.port === 'number') resolve(message.port);
      else reject(new Error(`unexpected message from the app: ${JSON.stringify(message)}`));
    });
    void program.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the app exited with ${code} before it listened\n${describeOutput(program)}`));
    });
  });
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function send(port: number, shell: ShellRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: shell.url.host };
    for (const [name, value] of shell.headers) headers[name] = value;
    if (shell.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(shell.body));
    const sent = httpRequest(
      { host: '127.0.0.1', port, method: shell.method, path: shell.url.pathname + shell.url.search, headers },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, text }));
      },
    );
    sent.setTimeout(10_000, () => sent.destroy(new Error('no answer within 10 s')));
    sent.once('error', reject);
    sent.end(shell.body);
  });
}

/** True when `actual` holds everything `expected` holds (objects partially, everything else exactly). */
function contains(actual: unknown, expected: unknown): boolean {
  if (typeof expected !== 'object' || expected === null) return Object.is(actual, expected);
  if (typeof actual !== 'object' || actual === null) return false;
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((item, index) => contains(actual[index], item))
    );
  }
  return Object.entries(expected).every(([key, value]) => contains((actual as Record<string, unknown>)[key], value));
}

/** Why an answer is not the one the curl line claims, or `undefined` when it is. */
export function mismatch(shell: ShellRequest, answer: Answer): string | undefined {
  const { expected } = shell;
  const problems: string[] = [];
  if (answer.status !== expected.status) problems.push(`status ${answer.status}, not ${expected.status}`);
  if (expected.code !== undefined || expected.body !== undefined) {
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      problems.push('the body is not JSON');
    }
    if (body !== undefined) {
      const code = (body as { error?: { code?: unknown } }).error?.code;
      if (expected.code !== undefined && code !== expected.code)
        problems.push(`code ${String(code)}, not ${expected.code}`);
      if (expected.body !== undefined && !contains(body, expected.body))
        problems.push(`the body does not contain ${JSON.stringify(expected.body)}`);
    }
  }
  return problems.length === 0
    ? undefined
    : `line ${shell.line}: ${shell.source}\n` +
        `  answered ${answer.status} ${answer.text.slice(0, 300)}\n  ${problems.join('; ')}`;
}

const LISTEN_3000 = /\.listen\(\s*3000\b/g;

/**
 * Starts an app block and sends it the requests of `script`. Resolves with the requests whose
 * answers differ from their claims (empty when every claim holds).
 */
export async function runApp(root: string, block: CodeBlock, script: ShellScript): Promise<string[]> {
  const javascript = transpileBlock(block);
  if (javascript.match(LISTEN_3000) === null)
    throw new Error('an app block followed by requests must listen on port 3000 (`app.listen(3000)`)');
  for (const shell of script.requests) {
    if (shell.url.port !== '3000')
      throw new Error(`line ${shell.line}: requests go to port 3000, where the app listens`);
  }
  const program = startProgram(root, javascript.replace(LISTEN_3000, '.listen(0'), script.env, [REPORT_PORT]);
  try {
    const port = await listening(program, 15_000);
    const problems: string[] = [];
    for (const shell of script.requests) {
      const problem = mismatch(shell, await send(port, shell));
      if (problem !== undefined) problems.push(problem);
    }
    if (problems.length > 0) problems.push(describeOutput(program));
    return problems;
  } finally {
    await stop(program);
  }
}
