export {
  DEFAULT_RATE_LIMIT_PREFIX,
  redisRateLimitStore,
  type RedisCommandClient,
  type RedisRateLimitStore,
  type RedisRateLimitStoreOptions,
} from './redis/rate-limit-store.js';
