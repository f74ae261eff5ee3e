import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { CHILD_NODE_OPTIONS } from './child-env.js';

/** A port nothing listens on right now, for a process the test starts. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** `npm run keys -- …` (the compiled sample app's command) on `database`: its exit status and output. */
export function keysCommand(database: string, ...args: string[]) {
  const run = spawnSync(process.execPath, ['sample-app/dist/keys-cli.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: CHILD_NODE_OPTIONS, KEYRING_DB: database },
    timeout: 30_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
