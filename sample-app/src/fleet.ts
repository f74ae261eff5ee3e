import type { KeyringOptions } from 'nest-keyring';

/**
 * How long, while Redis is unreachable, a replica may serve a key from its cache after looking
 * it up: a revocation made elsewhere during the outage is missed for at most this long. The
 * database is on this machine, so asking it again costs little.
 */
export const TTL_WHILE_REDIS_DOWN_MS = 1_000;

/**
 * Where Redis listens when the app runs as a fleet (`REDIS_URL`), else `undefined`. A
 * comma-separated list names nodes of a Redis Cluster: `redis://10.0.0.1:7000,redis://10.0.0.2:7000`.
 */
export const REDIS_URL: string | undefined = process.env.REDIS_URL || undefined;

/**
 * The options that make several instances of the app one fleet: with `REDIS_URL`, revocations
 * reach every instance through Redis pub/sub and rate limits are counted in Redis, one limit for
 * all of them. Without it, nothing of Redis is loaded: `nest-keyring/redis` (and the `redis`
 * client) are imported only here, and only when the URL is set.
 */
export async function fleetOptions(
  redisUrl: string | undefined = REDIS_URL,
): Promise<Pick<KeyringOptions, 'invalidationBus' | 'rateLimit'>> {
  if (!redisUrl) return {};
  const { redisInvalidationBus, redisRateLimitStore } = await import('nest-keyring/redis');
  if (redisUrl.includes(',')) {
    const cluster = await redisCluster(redisUrl.split(','));
    const store = redisRateLimitStore({ client: cluster.client });
    return {
      invalidationBus: redisInvalidationBus({
        client: cluster.client,
        ttlWhileDisconnectedMs: TTL_WHILE_REDIS_DOWN_MS,
      }),
      // Closed last when the app shuts down (after the bus): the cluster client goes with it.
      rateLimit: { store: { hit: (...hit) => store.hit(...hit), close: cluster.close } },
    };
  }
  return {
    invalidationBus: redisInvalidationBus({ url: redisUrl, ttlWhileDisconnectedMs: TTL_WHILE_REDIS_DOWN_MS }),
    // No default limit: only keys created with --rate-limit are limited, as without Redis.
    rateLimit: { store: redisRateLimitStore({ url: redisUrl }) },
  };
}

/**
 * A node-redis cluster client on the listed nodes, connected in the background: the app starts
 * while no node answers, and keeps asking until one does.
 */
async function redisCluster(urls: string[]) {
  const { createCluster } = await import('redis');
  // A PING every 5 s on each node's connection, so a node that vanishes is noticed.
  const client = createCluster({
    rootNodes: urls.map((url) => ({ url: url.trim() })),
    defaults: { pingInterval: 5_000 },
  });
  // Faults are reported by the bus and the rate limiter, once per outage.
  client.on('error', () => undefined);
  let closed = false;
  const connect = (): unknown => client.connect().catch(() => closed || setTimeout(connect, 1_000).unref());
  connect();
  const close = async () => {
    closed = true;
    await client.close().catch(() => client.destroy());
  };
  return { client, close };
}

/** One line for the start-up banner: whether the app runs with Redis, and where (never credentials). */
export function fleetSummary(redisUrl: string | undefined = REDIS_URL): string {
  if (!redisUrl) {
    return 'Redis: off (REDIS_URL not set): revocations and rate limits stay in this process';
  }
  return (
    `Redis: on at ${redisLocation(redisUrl)}: revocations reach every instance on it within a second, ` +
    'rate limits are counted there for all of them'
  );
}

/** `redis://host:port` of each URL, without user, password or database. */
function redisLocation(redisUrl: string): string {
  try {
    return redisUrl
      .split(',')
      .map((url) => {
        const { protocol, host } = new URL(url.trim());
        return `${protocol}//${host}`;
      })
      .join(',');
  } catch {
    return '(REDIS_URL is not a URL)';
  }
}
