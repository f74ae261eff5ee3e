import { KeyringConfigError } from '../core/refusals/failure.js';

/**
 * Checks the `{ url }` or `{ client }` that `redisInvalidationBus` and `redisRateLimitStore`
 * take: exactly one of them, a `redis://` or `rediss://` URL, a client with the `methods` used.
 *
 * @param what the function, for the message
 * @throws KeyringConfigError
 */
export function checkRedisTarget(what: string, options: unknown, methods: readonly string[]): void {
  const { url, client } = (options ?? {}) as { url?: unknown; client?: Record<string, unknown> | null };
  if ((url === undefined) === (client === undefined)) {
    throw new KeyringConfigError(
      `\`${what}\` needs either \`url\` (e.g. redis://127.0.0.1:6379) or \`client\` (a node-redis client), ` +
        `${url === undefined ? 'and got neither' : 'not both'}.`,
    );
  }
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
    throw new KeyringConfigError(
      `\`${what}\` \`url\` must be a redis:// or rediss:// URL; got ${JSON.stringify(url)}.`,
    );
  }
  const missing = methods.find((method) => typeof client?.[method] !== 'function');
  if (client !== undefined && missing !== undefined) {
    throw new KeyringConfigError(`\`${what}\` \`client\` must be a node-redis client (it has no \`${missing}\`).`);
  }
}
