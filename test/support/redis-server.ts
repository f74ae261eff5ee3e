/**
 * A real redis-server for the tests: started on a free loopback port, stopped after. Where the
 * machine has no redis-server, `describeWithRedis` says so loudly and skips only its suite.
 */
import { describe } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGKILL when `abrupt`, as a crash would). */
  stop(options?: { abrupt?: boolean }): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
}

export const redisServerPath = (): string | undefined => {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
};

/** `describe` when redis-server is installed; otherwise a loud skip naming the fix. */
export const describeWithRedis = (name: string, body: () => void): void => {
  if (redisServerPath()) {
    describe(name, body);
    return;
  }
  console.warn(
    `\n*** SKIPPED "${name}": no redis-server on this machine. ` +
      'Install it (Debian: apt-get install -y redis-server) to run the Redis tests. ***\n',
  );
  describe.skip(name, body);
};

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });

const answersPing = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });

const waitUntil = async (condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server: timed out waiting until ${what}`);
};

/** Starts a throw-away redis-server (no persistence) on a free loopback port. */
export const startRedisServer = async (): Promise<RedisServer> => {
  const binary = redisServerPath();
  if (!binary) throw new Error('redis-server is not installed');
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    child = spawn(binary, args, { stdio: 'ignore' });
    await waitUntil(() => answersPing(port), `it answers on port ${port}`);
  };
  const stop = async ({ abrupt = false } = {}) => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(abrupt ? 'SIGKILL' : 'SIGTERM');
    await exited;
    await waitUntil(async () => !(await answersPing(port)), `port ${port} is closed`);
  };

  await start();
  return { port, url: `redis://127.0.0.1:${port}`, stop, start };
};
