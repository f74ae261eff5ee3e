import type { KeyringOptions } from 'nest-keyring';

/**
 * How long, while Redis is unreachable, a replica may serve a key from its cache after looking
 * it up: a revocation made elsewhere during the outage is missed for at most this long. The
 * database is on this machine, so asking it again costs little.
 */
export const TTL_WHILE_REDIS_DOWN_MS = 1_000;

/** Where Redis listens when the app runs as a fleet (`REDIS_URL`), else `undefined`. */
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
  return {
    invalidationBus: redisInvalidationBus({ url: redisUrl, ttlWhileDisconnectedMs: TTL_WHILE_REDIS_DOWN_MS }),
    // No default limit: only keys created with --rate-limit are limited, as without Redis.
    rateLimit: { store: redisRateLimitStore({ url: redisUrl }) },
  };
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

/** `redis://host:port` of a URL, without user, password or database. */
function redisLocation(redisUrl: string): string {
  try {
    const { protocol, host } = new URL(redisUrl);
    return `${protocol}//${host}`;
  } catch {
    return '(REDIS_URL is not a URL)';
  }
}
