import { randomUUID } from 'node:crypto';
import type { ConnectionRegistry } from './connection-registry.js';
import type { Invalidation, InvalidationBus, InvalidationMessage } from './invalidation-bus.js';
import type { LookupCache, ResolvedCacheOptions } from '../lookup/lookup-cache.js';
import { checkDuration } from '../options/duration.js';
import { KeyringConfigError } from '../refusals/failure.js';

/** Where the invalidation bus's outages are reported: Nest's `Logger` in a Nest app, else the console. */
export interface KeyringWarningLogger {
  warn(message: string): void;
  log?(message: string): void;
}

/** The console, with the package's name in front (Nest's `Logger` names it through its context). */
export const consoleWarningLogger: KeyringWarningLogger = {
  warn: (message) => console.warn(`[nest-keyring] ${message}`),
  log: (message) => console.log(`[nest-keyring] ${message}`),
};

function causeOf(cause: unknown): string {
  if (cause instanceof Error) return cause.message || cause.name;
  return cause === undefined ? 'no cause given' : String(cause);
}

/**
 * Joins one process's lookup cache to an invalidation bus:
 *
 * - an invalidation made here is applied here at once by the caller, then published, never
 *   awaited: a slow or failing bus never holds up the code that revoked the key;
 * - one received is applied here (to the cache, then to the open connections it concerns),
 *   unless this relay sent it;
 * - while the bus is down (or not connected yet) the cache serves an entry for at most
 *   `ttlWhileDisconnectedMs` after its lookup, since a revocation may be missed meanwhile; once
 *   the bus is back the whole cache is cleared and every open connection checked again, for the
 *   same reason;
 * - each outage is reported once, not once per request or per retry.
 */
export class InvalidationRelay {
  // Tells this relay's messages from the others' (several may share one bus, even in one process).
  private readonly origin = randomUUID();
  private unsubscribe: () => void = () => undefined;
  private outageReported = false;
  private publishFailureReported = false;
  private closed = false;

  constructor(
    private readonly bus: InvalidationBus,
    private readonly cache: Pick<LookupCache, 'invalidateKeyHash' | 'invalidateRecord' | 'clear' | 'maxAgeMs'>,
    private readonly ttlWhileDisconnectedMs: number | undefined,
    private readonly logger: KeyringWarningLogger,
    // Those an invalidation concerns are checked again.
    private readonly connections: ConnectionRegistry,
  ) {
    if (!this.busConnected()) this.cache.maxAgeMs = this.ttlWhileDisconnectedMs;
    try {
      this.unsubscribe = bus.subscribe({
        onInvalidation: (message) => this.receive(message),
        onDisconnected: (cause) => this.disconnected(cause),
        onReconnected: () => this.reconnected(),
      });
    } catch (error) {
      // A bus that cannot even subscribe is an outage that never ends: keys are served for the
      // shorter time, and the app still starts.
      this.disconnected(error);
    }
  }

  /** Sends an invalidation (already applied here) to the other replicas; never throws, never waits. */
  publish(invalidation: Invalidation): void {
    if (this.closed) return;
    const message: InvalidationMessage = { ...invalidation, origin: this.origin };
    try {
      void Promise.resolve(this.bus.publish(message)).catch((error: unknown) => this.publishFailed(error));
    } catch (error) {
      this.publishFailed(error);
    }
  }

  /** Stops listening to the bus (it stays open: whoever opened it closes it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.unsubscribe();
    } catch {
      // Nothing to do about a bus that fails to let go; the relay ignores it from now on.
    }
  }

  private busConnected(): boolean {
    try {
      return this.bus.connected === true;
    } catch {
      return false;
    }
  }

  private receive(message: InvalidationMessage): void {
    if (this.closed || typeof message !== 'object' || message === null || message.origin === this.origin) return;
    if (message.type === 'key' && typeof message.keyHash === 'string') {
      this.cache.invalidateKeyHash(message.keyHash);
      this.connections.recheckKeyHash(message.keyHash);
    } else if (message.type === 'record' && typeof message.recordId === 'string') {
      this.cache.invalidateRecord(message.recordId);
      this.connections.recheckRecord(message.recordId);
    }
    // 'all', and anything this version cannot read (a newer sender's): forgetting everything is
    // the answer that can never grant a revoked key.
    else this.forgetAll();
  }

  private forgetAll(): void {
    this.cache.clear();
    this.connections.recheckAll();
  }

  private disconnected(cause: unknown): void {
    if (this.closed) return;
    // Without `ttlWhileDisconnectedMs`, entries are served for their TTL, as without a bus.
    this.cache.maxAgeMs = this.ttlWhileDisconnectedMs;
    if (this.outageReported) return;
    this.outageReported = true;
    const bound = this.ttlWhileDisconnectedMs;
    this.logger.warn(
      `invalidation bus disconnected (${causeOf(cause)}); revocations from other replicas may be missed: ` +
        `cached keys are served for at most ${bound === undefined ? 'the cache TTL' : `${bound} ms`} ` +
        'after their lookup, and the cache is cleared when the bus reconnects',
    );
  }

  private reconnected(): void {
    if (this.closed) return;
    // Whatever was published while this process was not listening is lost: forget everything.
    this.forgetAll();
    this.cache.maxAgeMs = undefined;
    this.publishFailureReported = false;
    if (!this.outageReported) return;
    this.outageReported = false;
    this.logger.log?.('invalidation bus reconnected; lookup cache cleared');
  }

  private publishFailed(error: unknown): void {
    if (this.closed || this.publishFailureReported) return;
    this.publishFailureReported = true;
    this.logger.warn(
      `an invalidation could not be published (${causeOf(error)}); other replicas refuse the key ` +
        'once their cached entry expires, or when their bus reconnects',
    );
  }
}

/** Checks the `invalidationBus` option at start-up. @throws KeyringConfigError */
export function resolveInvalidationBus(
  bus: InvalidationBus | undefined,
  cache: ResolvedCacheOptions | false,
): { invalidationBus: InvalidationBus | undefined; ttlWhileDisconnectedMs: number | undefined } {
  if (bus === undefined) return { invalidationBus: undefined, ttlWhileDisconnectedMs: undefined };
  if (
    typeof bus !== 'object' ||
    bus === null ||
    typeof bus.publish !== 'function' ||
    typeof bus.subscribe !== 'function'
  ) {
    throw new KeyringConfigError(
      '`invalidationBus` must be an object with `publish(message)` and `subscribe(subscriber)`, ' +
        "such as redisInvalidationBus({ url }) from 'nest-keyring/redis'.",
    );
  }
  if (cache === false) {
    throw new KeyringConfigError(
      '`invalidationBus` has nothing to invalidate with `cache: false`: remove one of them.',
    );
  }
  const ttl = bus.ttlWhileDisconnectedMs;
  if (ttl !== undefined) checkDuration('ttlWhileDisconnectedMs', ttl);
  return { invalidationBus: bus, ttlWhileDisconnectedMs: ttl };
}
