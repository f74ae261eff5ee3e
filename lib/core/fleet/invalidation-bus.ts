import { hash } from 'node:crypto';

/**
 * What one replica tells the others to forget. A key never travels in clear: a key is named by
 * `invalidationKeyHash(key)`, a SHA-256 of the key under a label of its own, so a message read off
 * the bus neither gives the key nor matches the hash a key store keeps (`hashApiKey`).
 */
export type Invalidation =
  | { readonly type: 'key'; readonly keyHash: string }
  | { readonly type: 'record'; readonly recordId: string }
  | { readonly type: 'all' };

/** An invalidation as it travels: `origin` names the `Keyring` that sent it, which skips its own. */
export type InvalidationMessage = Invalidation & { readonly origin: string };

/** What a bus reports to each subscriber. Each call must return quickly and never throws. */
export interface InvalidationSubscriber {
  /** Another replica (or this one: compare `origin`) published an invalidation. */
  onInvalidation(message: InvalidationMessage): void;
  /**
   * The bus lost its connection, or could not make it at start-up: invalidations may be missed
   * until `onReconnected`. Called once per outage.
   */
  onDisconnected(cause?: unknown): void;
  /**
   * The bus is connected and listening again, after `onDisconnected` or after being subscribed to
   * while not connected yet (`connected` false). Messages sent meanwhile may have been missed.
   */
  onReconnected(): void;
}

/**
 * Carries cache invalidations between the replicas of an app, so that a key revoked in one of
 * them is refused by all (`KeyringOptions.invalidationBus`). `nest-keyring/redis` has one on
 * Redis pub/sub (`redisInvalidationBus`); anything with a publish/subscribe channel (Postgres
 * `LISTEN/NOTIFY`, NATS, …) can implement this.
 *
 * A bus delivers every message to every subscriber, in every replica, the sender's own included.
 */
export interface InvalidationBus {
  /**
   * Sends a message to every subscriber of every replica. May be slow or fail: the `Keyring`
   * never awaits it on a request, and reports a failure as a warning.
   */
  publish(message: InvalidationMessage): Promise<void> | void;
  /** Starts delivering messages and connection changes; returns the call that stops it. */
  subscribe(subscriber: InvalidationSubscriber): () => void;
  /**
   * Whether the bus is connected and listening now. While it is not, cached keys are served for
   * at most `ttlWhileDisconnectedMs`, and the cache is cleared once it reconnects.
   */
  readonly connected: boolean;
  /**
   * How long a cached key may be served, counted from when it was looked up, while the bus is
   * disconnected (a revocation sent meanwhile may be missed). Above the cache's `ttlMs` it
   * changes nothing. @default the cache's `ttlMs`
   */
  readonly ttlWhileDisconnectedMs?: number;
  /** Closes what the bus opened (its connections); `ApiKeyModule` calls it when the app shuts down. */
  close?(): Promise<void> | void;
}

/**
 * The name of a key on an invalidation bus: a SHA-256 (base64url) of the key under a label of
 * its own, the same in every replica.
 */
export function invalidationKeyHash(key: string): string {
  return hash('sha256', `nest-keyring/invalidate\u0000${key}`, 'base64url');
}
