import { checkDuration, withTimeout } from '../options/duration.js';
import { KeyringConfigError } from '../refusals/failure.js';
import { checkAtLeastOne, refuseUnknownOptions } from '../options/option-checks.js';

/** One key's use, as `usage.onUsed` receives it. */
export interface KeyUsage {
  /** The record's `id`, as the lookup returned it. */
  readonly recordId: string | number;
  /** When a request with the key was last admitted (in this process, before this batch). */
  readonly lastUsedAt: Date;
}

/** Where `usage` warnings go: `console` unless given (Nest's `Logger` in `ApiKeyModule`). */
export interface UsageLogger {
  warn(message: string): void;
}

/**
 * Last-used written behind: admitted requests are noted in memory and handed to `onUsed` in
 * batches, each key at most once a batch, so a store can keep a `lastUsedAt` without a write per
 * request. See docs/usage.md.
 *
 * @example
 * usage: {
 *   onUsed: (batch) => db.query('UPDATE api_keys SET last_used_at = GREATEST(last_used_at, $2) WHERE id = $1', ...),
 * }
 */
export interface UsageOptions {
  /**
   * Receives the keys used since the last batch, with the time each was last used. It may return
   * a promise. A batch that throws, rejects or takes longer than `timeoutMs` is logged (one
   * warning until a batch succeeds again) and merged into the next batch: write idempotently and
   * keep the later time, since a batch given up on may still land after its retry.
   */
  onUsed(batch: readonly KeyUsage[]): void | Promise<void>;
  /**
   * How often the batch is handed over; a key appears at most once a batch.
   * @default 60000
   */
  flushIntervalMs?: number;
  /**
   * How long a batch may take before it counts as failed (and the next one may start).
   * @default 10000
   */
  timeoutMs?: number;
  /**
   * Most keys held between batches. Past it, a batch is handed over at once; while one is
   * still under way, uses of keys not already held are dropped (one warning).
   * @default 100000
   */
  maxPendingKeys?: number;
  /** Where warnings go. @default console (Nest's Logger in `ApiKeyModule`) */
  logger?: UsageLogger;
}

/** The defaults of `usage` (apart from `onUsed`, which is required). */
const DEFAULT_USAGE_OPTIONS = Object.freeze({ flushIntervalMs: 60_000, timeoutMs: 10_000, maxPendingKeys: 100_000 });

/** `usage` after defaults and validation. */
export type ResolvedUsageOptions = NonNullable<ReturnType<typeof resolveUsageOptions>>;

/** Checks `usage` once, at start-up. @throws KeyringConfigError */
export function resolveUsageOptions(usage: UsageOptions | undefined) {
  if (usage === undefined) return undefined;
  if (typeof usage !== 'object' || usage === null) {
    throw new KeyringConfigError('`usage` must be an object such as { onUsed: (batch) => store.touch(batch) }.');
  }
  refuseUnknownOptions(usage, ['onUsed', ...Object.keys(DEFAULT_USAGE_OPTIONS), 'logger'], 'usage.');
  if (typeof usage.onUsed !== 'function') {
    throw new KeyringConfigError('`usage.onUsed` must be a function `(batch) => void | Promise<void>`.');
  }
  const resolved = { ...DEFAULT_USAGE_OPTIONS, logger: undefined, ...usage };
  for (const name of ['flushIntervalMs', 'timeoutMs'] as const)
    checkDuration(`usage.${name}`, resolved[name], { positive: true });
  checkAtLeastOne('usage.maxPendingKeys', resolved.maxPendingKeys);
  const { logger } = resolved;
  if (logger !== undefined && (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function')) {
    throw new KeyringConfigError('`usage.logger` must have a `warn(message)` method.');
  }
  return Object.freeze(resolved);
}

/**
 * Notes which keys were used and hands them to `onUsed` in batches. The hot path is one `Map.set`
 * (and a check that the timer is armed); the timer is one unref'd timeout, armed only while
 * something waits, so an idle app has none and the process can exit. One `onUsed` call at a
 * time, even past its timeout: while a call hangs, uses gather in the bounded pending map (a
 * key's later use replaces its earlier one) and go out together once it answers.
 */
export class UsageRecorder {
  private pending = new Map<string | number, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The batch under way, until it answers or its timeout passes. */
  private inFlight: Promise<void> | undefined;
  /** An `onUsed` call has not answered yet (it may have outlived its timeout): none is started. */
  private calling = false;
  private earlyFlush = false;
  /** One warning per outage: set by the first failure or drop, cleared by a batch that succeeds. */
  private warned = false;

  constructor(
    private readonly options: ResolvedUsageOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Keys waiting for the next batch. */
  get pendingKeys(): number {
    return this.pending.size;
  }

  /** Notes a use of the record `recordId` now. Never throws, never waits. */
  record(recordId: string | number): void {
    const { pending } = this;
    if (pending.size >= this.options.maxPendingKeys && !pending.has(recordId)) return this.overflow();
    pending.set(recordId, this.now());
    if (this.timer === undefined) this.arm();
  }

  /**
   * Hands what is pending to `onUsed` now, after the batch under way if any; resolves when that
   * is done (or given up after `timeoutMs`). Never rejects. Call it on shutdown. While an earlier
   * call still hangs, nothing more is sent.
   */
  async flush(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
    if (this.pending.size > 0) await this.send();
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A batch still under way (a slow store) carries on; this one waits for its end.
      if (this.inFlight === undefined && this.pending.size > 0) void this.send();
    }, this.options.flushIntervalMs);
    this.timer.unref?.();
  }

  private overflow(): void {
    if (this.inFlight === undefined && !this.calling && !this.earlyFlush) {
      // Full: hand the batch over now rather than drop uses, off the request's own call stack.
      this.earlyFlush = true;
      setImmediate(() => {
        this.earlyFlush = false;
        if (this.inFlight === undefined && this.pending.size > 0) void this.send();
      }).unref?.();
      return;
    }
    this.warnOnce(
      `more than ${this.options.maxPendingKeys} keys used since the last batch while usage.onUsed is still ` +
        'busy: the last-used time of some keys is dropped (raise usage.maxPendingKeys or make onUsed faster).',
    );
  }

  private send(): Promise<void> {
    // The call before has not answered: the batch stays pending and goes once it does.
    if (this.calling) return Promise.resolve();
    const batch = this.pending;
    this.pending = new Map();
    const sending = this.deliver(batch).then((failure) => {
      if (this.inFlight === sending) this.inFlight = undefined;
      this.settle(batch, failure);
    });
    this.inFlight = sending;
    return sending;
  }

  /** Calls `onUsed` with the batch; why it failed (`undefined`: it did not), never a rejection. */
  private deliver(batch: Map<string | number, number>): Promise<string | undefined> {
    const usages = [...batch].map(([recordId, at]): KeyUsage => ({ recordId, lastUsedAt: new Date(at) }));
    let answer: unknown;
    try {
      answer = this.options.onUsed(usages);
    } catch (error) {
      return Promise.resolve(`threw ${describe(error)}`);
    }
    this.calling = true;
    // Handlers are attached at once: a late rejection is never unhandled.
    const answered = Promise.resolve(answer).then(
      () => undefined,
      (error: unknown) => `rejected with ${describe(error)}`,
    );
    void answered.then(() => {
      this.calling = false;
      if (this.pending.size > 0 && this.timer === undefined) this.arm();
    });
    const { timeoutMs } = this.options;
    const late = () => new Error(`took longer than ${timeoutMs} ms (no batch is sent until it answers)`);
    return withTimeout(answered, timeoutMs, late).catch((error: Error) => error.message);
  }

  /** A failed batch joins the next one; a key used since keeps its later time; the bound holds. */
  private settle(batch: Map<string | number, number>, failure: string | undefined): void {
    if (failure === undefined) this.warned = false;
    else {
      this.warnOnce(
        `usage.onUsed ${failure}; last-used times are kept and retried with the next batch ` +
          '(one warning until a batch succeeds).',
      );
      const { pending } = this;
      for (const [recordId, at] of batch) {
        if (pending.size >= this.options.maxPendingKeys) break;
        if (!pending.has(recordId)) pending.set(recordId, at);
      }
    }
    if (this.pending.size > 0 && this.timer === undefined) this.arm();
  }

  private warnOnce(message: string): void {
    if (this.warned) return;
    this.warned = true;
    try {
      (this.options.logger ?? console).warn(`[nest-keyring] ${message}`);
    } catch {
      // A logger that throws must not reach the request or the timer.
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : typeof error;
}
