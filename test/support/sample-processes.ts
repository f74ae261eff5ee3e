import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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

/**
 * Starts the compiled sample app (`node ...nodeArgs sample-app/dist/main.js`) with `env`, kept in
 * `running` until it exits (so the spec can kill what is left); `output()` is everything it printed.
 */
export function spawnSampleApp(running: Set<ChildProcess>, env: NodeJS.ProcessEnv, nodeArgs: string[] = []) {
  const child = spawn(process.execPath, [...nodeArgs, 'sample-app/dist/main.js'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  const collect = (chunk: Buffer) => (output += chunk.toString());
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return { child, output: () => output };
}
