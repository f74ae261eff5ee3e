/**
 * `nest-keyring/redis`: what the package builds on Redis, through node-redis (`redis`, an optional
 * peer dependency). The root entry never loads it.
 *
 * @example
 * import { redisInvalidationBus } from 'nest-keyring/redis';
 *
 * ApiKeyModule.forRoot({ lookup, invalidationBus: redisInvalidationBus({ url: process.env.REDIS_URL! }) });
 */
export {
  RedisInvalidationBus,
  redisInvalidationBus,
  type NodeRedisClient,
  type RedisInvalidationBusOptions,
} from './redis/redis-invalidation-bus.js';
export {
  redisRateLimitStore,
  type RedisClusterCommandClient,
  type RedisCommandClient,
  type RedisRateLimitStore,
  type RedisRateLimitStoreOptions,
} from './redis/rate-limit-store.js';
