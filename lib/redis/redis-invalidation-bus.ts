import { createClient } from 'redis';
import { checkDuration, withTimeout } from '../core/options/duration.js';
import { KeyringConfigError } from '../core/refusals/failure.js';
import { checkRedisTarget } from './redis-target.js';
import type { InvalidationBus, InvalidationMessage, InvalidationSubscriber } from '../core/fleet/invalidation-bus.js';

/**
 * The part of a node-redis client (`createClient()` or `createCluster()` from `redis`, v5 or
 * later) the bus uses. Typed by shape, so any client of those versions fits whatever its modules
 * or type mapping.
 */
export interface NodeRedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  /** Only a cluster client (`createCluster()`) has it. */
  readonly masters?: unknown;
  connect(): Promise<unknown>;
  duplicate(overrides?: { pingInterval?: number; minimizeConnections?: boolean }): NodeRedisClient;
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => unknown): Promise<unknown>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- node-redis types its listeners so
  on(event: string, listener: (...args: any[]) => void): unknown;
  close(): Promise<unknown>;
  destroy(): void;
}

/** Options of `redisInvalidationBus`: `url` or `client`, not both. */
export interface RedisInvalidationBusOptions {
  /**
   * Where Redis listens, e.g. `redis://127.0.0.1:6379` (`rediss://` for TLS, credentials in the
   * URL). The bus opens two connections (one publishes, one listens) and closes them in `close()`.
   */
  url?: string;
  /**
   * A node-redis client of the app, connected by the app: the bus publishes through it and
   * listens on a `duplicate()` of it (a listening connection can do nothing else). `close()`
   * closes only the duplicate; the client stays the app's. A cluster client (`createCluster()`)
   * works too: a PUBLISH reaches every node, so the duplicate listens on one node of its choice.
   */
  client?: NodeRedisClient;
  /**
   * The pub/sub channel. Replicas that share keys must share it; apps that share a Redis but not
   * their keys should each have their own (a message on another app's channel only costs a
   * cleared cache, never a granted key). @default 'nest-keyring:invalidations'
   */
  channel?: string;
  /**
   * How long a cached key may be served, from its lookup, while the bus is disconnected (a
   * revocation sent meanwhile may be missed). @default the cache's `ttlMs` (30 s unless set)
   */
  ttlWhileDisconnectedMs?: number;
}

// Retries back off from 100 ms to at most 2 s, with a little jitter so replicas do not all retry
// at once; they never give up.
const MAX_RECONNECT_DELAY_MS = 2_000;
const reconnectStrategy = (retries: number): number =>
  Math.min(100 * 2 ** Math.min(retries, 10), MAX_RECONNECT_DELAY_MS) + Math.floor(Math.random() * 100);
// A PING every 5 s, and no answer within 15 s means the connection is dead even without a reset
// (a host that vanished): it is then dropped and reopened.
const PING_INTERVAL_MS = 5_000;
const SOCKET_TIMEOUT_MS = 15_000;
// While Redis is away, publishes wait in the client's queue; past this many they fail at once.
const MAX_QUEUED_COMMANDS = 1_000;
// At shutdown, pending publishes get this long to go out before the connection is dropped.
const CLOSE_GRACE_MS = 1_000;
// In a cluster a publish goes to one node, which holds it while it is down: after this long
// without an answer, it is sent again, through another node.
const CLUSTER_PUBLISH_RETRY_MS = 500;
const late = () => new Error(`no answer within ${CLUSTER_PUBLISH_RETRY_MS} ms`);

type State = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed';

/**
 * An `InvalidationBus` on Redis pub/sub. Connects when the `Keyring` first subscribes, in the
 * background: an app starts and serves while Redis is unreachable (the bus then reports itself
 * disconnected), and reconnects on its own.
 */
export class RedisInvalidationBus implements InvalidationBus {
  readonly ttlWhileDisconnectedMs: number | undefined;
  readonly channel: string;
  private readonly subscribers = new Set<InvalidationSubscriber>();
  private state: State = 'idle';
  private lastCause: unknown;
  private publisher: NodeRedisClient | undefined;
  private listener: NodeRedisClient | undefined;
  // Whether `close()` closes the publisher: only when the bus created it from `url`.
  private ownsPublisher = false;
  // Set once SUBSCRIBE succeeded: from then on node-redis subscribes again after each reconnection.
  private subscribed = false;
  private closing: Promise<void> | undefined;
  private readonly cluster: boolean;

  /** @throws KeyringConfigError when the options cannot work */
  constructor(private readonly options: RedisInvalidationBusOptions) {
    checkRedisTarget('redisInvalidationBus', options, ['duplicate', 'publish']);
    const { channel = 'nest-keyring:invalidations', ttlWhileDisconnectedMs } = options;
    if (typeof channel !== 'string' || channel.length === 0) {
      throw new KeyringConfigError('`redisInvalidationBus` `channel` must be a non-empty string.');
    }
    if (ttlWhileDisconnectedMs !== undefined) checkDuration('ttlWhileDisconnectedMs', ttlWhileDisconnectedMs);
    this.channel = channel;
    this.ttlWhileDisconnectedMs = ttlWhileDisconnectedMs;
    this.cluster = options.client !== undefined && 'masters' in options.client;
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  subscribe(subscriber: InvalidationSubscriber): () => void {
    if (this.state === 'closed') return () => undefined;
    this.subscribers.add(subscriber);
    this.start();
    // Joined during an outage: it hears of it like the others did.
    if (this.state === 'disconnected') call(() => subscriber.onDisconnected(this.lastCause));
    return () => void this.subscribers.delete(subscriber);
  }

  async publish(message: InvalidationMessage): Promise<void> {
    if (this.state === 'closed') return;
    this.start();
    if (this.publisher === undefined) throw new Error('the Redis client could not be created');
    // Sent once the publisher is connected (node-redis queues it meanwhile, within a bound).
    // `v` lets a later version change the form.
    const text = JSON.stringify({ v: 1, ...message });
    for (let retries = this.cluster ? 2 : 0; retries > 0; retries--) {
      try {
        return void (await withTimeout(this.publisher.publish(this.channel, text), CLUSTER_PUBLISH_RETRY_MS, late));
      } catch {
        // Failed, or no answer in time: sent again, through another node.
      }
    }
    await this.publisher.publish(this.channel, text);
  }

  /** Closes the connections the bus opened, never the app's client. Safe to call twice. */
  close(): Promise<void> {
    return (this.closing ??= this.shutDown());
  }

  private start(): void {
    if (this.state !== 'idle') return;
    this.state = 'connecting';
    const { url, client } = this.options;
    const created = (): NodeRedisClient =>
      createClient({
        url,
        socket: { reconnectStrategy, socketTimeout: SOCKET_TIMEOUT_MS },
        pingInterval: PING_INTERVAL_MS,
        commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
      }) as unknown as NodeRedisClient;
    let listener: NodeRedisClient;
    try {
      // A cluster's duplicate connects only to the node it subscribes on.
      const overrides = this.cluster ? { minimizeConnections: true } : { pingInterval: PING_INTERVAL_MS };
      listener = client === undefined ? created() : client.duplicate(overrides);
      this.publisher = client ?? created();
    } catch (error) {
      this.lost(error);
      return;
    }
    this.listener = listener;
    this.ownsPublisher = client === undefined;
    // node-redis emits 'error' on every failed (re)connection attempt; without a listener, Node
    // would end the process. A cluster reports its nodes' connections as 'node-*' events.
    const node = this.cluster ? 'node-' : '';
    listener.on(`${node}error`, (error: unknown) => this.lost(error));
    // The cluster's own errors (a topology refresh that failed) leave the subscription as it is.
    if (this.cluster) listener.on('error', () => undefined);
    listener.on(`${node}ready`, () => (this.cluster && !this.subscribed ? undefined : this.listen(listener)));
    if (this.ownsPublisher) {
      // Its faults surface as failed publishes, which the Keyring reports.
      this.publisher.on('error', () => undefined);
      this.publisher.connect().catch(() => undefined);
    }
    // Resolves only once connected (node-redis retries meanwhile); rejects only once closed. A
    // cluster that no node answers rejects at once: it is asked again until one does.
    const connect = (): unknown =>
      this.state === 'closed' ||
      listener.connect().then(
        () => this.cluster && this.listen(listener),
        (error: unknown) => {
          this.lost(error);
          if (this.cluster) setTimeout(connect, MAX_RECONNECT_DELAY_MS).unref();
        },
      );
    connect();
  }

  /** On each 'ready': subscribes the first time; after a reconnection node-redis did it already. */
  private listen(listener: NodeRedisClient): void {
    if (this.subscribed) {
      if (listener.isReady) this.up();
      return;
    }
    listener
      .subscribe(this.channel, (text) => this.deliver(text))
      .then(
        () => {
          this.subscribed = true;
          this.up();
        },
        (error: unknown) => this.lost(error),
      );
  }

  private deliver(text: string): void {
    const message = decode(text);
    for (const subscriber of this.subscribers) call(() => subscriber.onInvalidation(message));
  }

  private up(): void {
    if (this.state === 'closed' || this.state === 'connected') return;
    this.state = 'connected';
    this.lastCause = undefined;
    for (const subscriber of this.subscribers) call(() => subscriber.onReconnected());
  }

  private lost(cause: unknown): void {
    // A fault the connection survived (it is still ready) loses no message. A cluster stays
    // ready while the node it listens on is down: its node errors always count.
    if (this.state === 'closed' || this.state === 'disconnected') return;
    if (this.state === 'connected' && !this.cluster && this.listener?.isReady === true) return;
    this.state = 'disconnected';
    this.lastCause = cause;
    for (const subscriber of this.subscribers) call(() => subscriber.onDisconnected(cause));
  }

  private async shutDown(): Promise<void> {
    this.state = 'closed';
    this.subscribers.clear();
    const { listener, publisher } = this;
    if (listener !== undefined) destroy(listener);
    if (publisher !== undefined && this.ownsPublisher) {
      const notClosed = () => new Error('not closed in time');
      if (publisher.isReady) await withTimeout(publisher.close(), CLOSE_GRACE_MS, notClosed).catch(() => undefined);
      destroy(publisher);
    }
  }
}

/**
 * A message read off the channel; the relay checks its fields. Anything this version cannot read
 * (a newer sender's, or stray text on the channel) becomes "forget everything": never a revoked
 * key served from the cache.
 */
function decode(text: string): InvalidationMessage {
  try {
    const wire = JSON.parse(text) as (InvalidationMessage & { v?: unknown }) | null;
    if (wire?.v === 1) return wire;
  } catch {
    // Stray text: forget everything, below.
  }
  return { type: 'all', origin: '' };
}

/** Calls a subscriber; one that throws must not stop the others or reach node-redis. */
function call(notify: () => void): void {
  try {
    notify();
  } catch {
    // The relay never throws; a custom subscriber that does loses only its own notification.
  }
}

function destroy(client: NodeRedisClient): void {
  try {
    if (client.isOpen) client.destroy();
  } catch {
    // Already closed.
  }
}

/**
 * An invalidation bus on Redis pub/sub, for `KeyringOptions.invalidationBus`: a key revoked in
 * one replica is refused by all of them within a second. Built on node-redis (`redis`, an
 * optional peer dependency).
 *
 * @example
 * import { redisInvalidationBus } from 'nest-keyring/redis';
 *
 * ApiKeyModule.forRoot({
 *   lookup,
 *   invalidationBus: redisInvalidationBus({ url: process.env.REDIS_URL!, ttlWhileDisconnectedMs: 5_000 }),
 * });
 *
 * @throws KeyringConfigError when the options cannot work
 */
export function redisInvalidationBus(options: RedisInvalidationBusOptions): RedisInvalidationBus {
  return new RedisInvalidationBus(options);
}
