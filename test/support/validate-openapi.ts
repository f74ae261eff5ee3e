// Validates an OpenAPI document with @apidevtools/swagger-parser in a Node process of its own:
// the parser (CommonJS) requires an ES module, which Node loads but Jest's module system cannot.
import { spawn } from 'node:child_process';
import { CHILD_NODE_OPTIONS } from './child-env.js';

const VALIDATE = `
import SwaggerParser from '@apidevtools/swagger-parser';
let input = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) input += chunk;
try {
  await SwaggerParser.validate(JSON.parse(input));
} catch (error) {
  process.stdout.write(String(error?.message ?? error));
  process.exit(1);
}
`;

/** Resolves when `document` is valid OpenAPI; rejects with swagger-parser's message otherwise. */
export function validateOpenApi(document: object, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', VALIDATE], {
      cwd: new URL('../..', import.meta.url),
      env: { ...process.env, NODE_OPTIONS: CHILD_NODE_OPTIONS },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`invalid OpenAPI document (${signal ?? `exit ${code}`}): ${output}`));
    });
    child.stdin.end(JSON.stringify(document));
  });
}
