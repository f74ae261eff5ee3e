/**
 * A real redis-server for the tests: started on a free loopback port, stopped after. Where the
 * machine has no redis-server, `describeWithRedis` says so loudly and skips only its suite.
 */
import { describe } from '@jest/globals';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

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

/**
 * Starts a throw-away redis-server (no persistence) on a free loopback port. `extraArgs` are
 * added to its command line, given the port (a cluster node's config file is named by it).
 */
export const startRedisServer = async (extraArgs: (port: number) => string[] = () => []): Promise<RedisServer> => {
  const binary = redisServerPath();
  if (!binary) throw new Error('redis-server is not installed');
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    child = spawn(binary, [...args, ...extraArgs(port)], { stdio: 'ignore' });
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

export interface RedisCluster {
  /** The masters, each owning a third of the slots; stop one to take its shard down. */
  readonly nodes: readonly RedisServer[];
  /** Every node's URL, comma-separated, as an app's `REDIS_URL` would list them. */
  readonly urls: string;
  /** `rootNodes` for node-redis's `createCluster`. */
  readonly rootNodes: { url: string }[];
  /** Waits until every running node reports `cluster_state:ok`. */
  ready(): Promise<void>;
  /** Stops every node and removes their config files. */
  stop(): Promise<void>;
}

const run = promisify(execFile);
const redisCli = (...args: string[]) => run('redis-cli', args, { timeout: 15_000 });

/**
 * A Redis Cluster of `masters` masters and no replicas, on free loopback ports, from the
 * installed redis-server and redis-cli. Nodes notice a dead peer within `nodeTimeoutMs`; the
 * cluster keeps serving the slots it still covers (`cluster-require-full-coverage no`), so a
 * test can see what one dead shard does to the others.
 */
export const startRedisCluster = async ({ masters = 3, nodeTimeoutMs = 1_000 } = {}): Promise<RedisCluster> => {
  const dir = mkdtempSync(join(tmpdir(), 'nest-keyring-cluster-'));
  const nodes: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  const ready = () =>
    waitUntil(
      async () => {
        const states = await Promise.all(
          nodes.map((node) =>
            redisCli('-p', String(node.port), 'cluster', 'info').then(
              ({ stdout }) => stdout.includes('cluster_state:ok'),
              () => true, // a stopped node has no say
            ),
          ),
        );
        return states.every(Boolean);
      },
      'the cluster is ok',
      20_000,
    );
  try {
    for (let index = 0; index < masters; index++) {
      nodes.push(
        await startRedisServer((port) => [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          String(nodeTimeoutMs),
          '--cluster-require-full-coverage',
          'no',
          '--dir',
          dir,
        ]),
      );
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    await redisCli('--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes');
    await ready();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nodes,
    urls: nodes.map((node) => node.url).join(','),
    rootNodes: nodes.map((node) => ({ url: node.url })),
    ready,
    stop,
  };
};
