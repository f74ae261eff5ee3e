import { createHash } from 'node:crypto';
import { createClient } from 'redis';
import { KeyringConfigError } from '../core/refusals/failure.js';
import { checkRedisTarget } from './redis-target.js';
import type { RateLimitHit, RateLimitStore } from '../core/limits/rate-limit.js';

/**
 * The one command `redisRateLimitStore` needs of a client: node-redis's `sendCommand`
 * (`createClient()` from `redis` 5 or 6 has it). The store passes `{ timeout: 0 }` as its
 * options: the limiter's `timeoutMs` already bounds the wait.
 */
export interface RedisCommandClient {
  sendCommand(args: ReadonlyArray<string>, options?: { timeout?: number }): Promise<unknown>;
}

/** The same of a cluster client (`createCluster()`), which routes a command by its first key. */
export interface RedisClusterCommandClient {
  readonly masters: unknown;
  sendCommand(firstKey: string, isReadonly: boolean, args: string[], options?: { timeout?: number }): Promise<unknown>;
}

/** Options of `redisRateLimitStore`: a connection URL, or a client the app already has (not both). */
export interface RedisRateLimitStoreOptions {
  /** e.g. `redis://127.0.0.1:6379`: the store opens, reconnects and closes its own client. */
  url?: string;
  /**
   * A connected node-redis client the app owns (and closes); the store only sends commands.
   * A cluster client works too: each counter is one key, on the shard its slot belongs to.
   */
  client?: RedisCommandClient | RedisClusterCommandClient;
  /**
   * Prepended to every counter's Redis key.
   * @default 'nest-keyring:rate-limit:'
   */
  prefix?: string;
}

/** A `RateLimitStore` on Redis; `close()` ends the client it opened (not one it was given). */
export interface RedisRateLimitStore extends RateLimitStore {
  hit(id: string, windowMs: number, limit: number): Promise<RateLimitHit>;
  close(): Promise<void>;
}

// Counts and starts the window in one atomic step: INCR, and on the window's first request
// PEXPIRE. Two replicas counting at once get two different counts; no window is left without
// an expiry (a key without one is given it on its next request).
const SCRIPT = `local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;
const SCRIPT_SHA = createHash('sha1').update(SCRIPT).digest('hex');

// No per-command timer of node-redis's (by default an AbortSignal.timeout per command, which
// costs a request more than the round trip): the limiter's own `timeoutMs` bounds the wait.
const NO_COMMAND_TIMEOUT = Object.freeze({ timeout: 0 });

// Reconnect quickly at first, then every 2 s at most, forever: the limiter fails open meanwhile.
const reconnectDelay = (retries: number): number => Math.min(50 * 2 ** retries, 2000);

/**
 * A `RateLimitStore` shared by every replica through Redis: each request is one `EVALSHA` of a
 * small Lua script (INCR + PEXPIRE, atomic in Redis), so a limit of 5 admits 5 requests across
 * the fleet whichever replica gets them. Redis loads the script on first use (one `EVAL`).
 *
 * With `{ url }` the store opens its own client, which does not queue commands while
 * disconnected: a request during an outage fails at once, and the limiter lets it through
 * (logging one warning per outage) instead of waiting. It reconnects in the background.
 *
 * @example
 * import { redisRateLimitStore } from 'nest-keyring/redis';
 *
 * ApiKeyModule.forRoot({
 *   lookup,
 *   rateLimit: {
 *     default: { limit: 100, windowMs: 60_000 },
 *     store: redisRateLimitStore({ url: process.env.REDIS_URL! }),
 *   },
 * });
 *
 * @throws KeyringConfigError when neither a `url` nor a client with `sendCommand` is given
 */
export function redisRateLimitStore(options: RedisRateLimitStoreOptions): RedisRateLimitStore {
  const { url, client: given, prefix = 'nest-keyring:rate-limit:' } = options ?? {};
  if (typeof prefix !== 'string') {
    throw new KeyringConfigError(`\`redisRateLimitStore\` \`prefix\` must be a string; got ${JSON.stringify(prefix)}.`);
  }
  checkRedisTarget('redisRateLimitStore', options, ['sendCommand']);
  if (given === undefined) return ownClientStore(url!, prefix);
  // The script's one key is the 4th argument of EVALSHA and EVAL: a cluster sends it to its shard.
  const send: Send =
    'masters' in given
      ? (args) => given.sendCommand(args[3]!, false, args, NO_COMMAND_TIMEOUT)
      : (args) => given.sendCommand(args, NO_COMMAND_TIMEOUT);
  return store(send, prefix, async () => undefined);
}

type Send = (args: string[]) => Promise<unknown>;

function ownClientStore(url: string, prefix: string): RedisRateLimitStore {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { reconnectStrategy: reconnectDelay, connectTimeout: 2000 },
  });
  // Requests that arrive while the first connection is being made wait for it (the limiter's
  // timeout bounds the wait); once it has succeeded or failed, a request never waits for Redis.
  let firstAttempt: Promise<void> | undefined = new Promise<void>((resolve) => {
    client.once('ready', resolve);
    client.once('error', resolve);
  }).then(() => {
    firstAttempt = undefined;
  });
  // Connection errors are reported through the limiter (one warning per outage); an 'error'
  // event nobody listens to would end the process.
  client.on('error', () => undefined);
  // Retries in the background until Redis answers: the promise settles only then, or on close.
  client.connect().catch(() => undefined);
  const send: Send = async (args) => {
    await firstAttempt;
    return client.sendCommand(args, NO_COMMAND_TIMEOUT);
  };
  return store(send, prefix, async () => {
    if (client.isReady) await client.close().catch(() => undefined);
    // Not connected (Redis down, or still retrying), or closed under our feet: stop at once.
    if (client.isOpen) client.destroy();
  });
}

function store(send: Send, prefix: string, close: () => Promise<void>): RedisRateLimitStore {
  return {
    async hit(id: string, windowMs: number): Promise<RateLimitHit> {
      const key = prefix + id;
      const window = String(windowMs);
      let reply: unknown;
      try {
        reply = await send(['EVALSHA', SCRIPT_SHA, '1', key, window]);
      } catch (error) {
        // Redis has not seen the script yet (or was restarted empty): send it once.
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        reply = await send(['EVAL', SCRIPT, '1', key, window]);
      }
      if (!Array.isArray(reply) || reply.length !== 2)
        throw new TypeError('Redis answered the rate-limit script oddly');
      return { count: Number(reply[0]), resetMs: Number(reply[1]) };
    },
    close,
  };
}
