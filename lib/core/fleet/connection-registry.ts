import type { ApiKeyRecord, Tenant } from '../keys/api-key-record.js';
import { extractApiKey } from '../admission/credentials.js';
import type { KeyringFailure } from '../refusals/failure.js';
import { readHeader, type RequestHeaders } from '../admission/headers.js';
import { invalidationKeyHash } from './invalidation-bus.js';
import type { MaybePromise } from '../maybe-async.js';
import { expiryTime } from '../keys/record-check.js';
import { fail, type Result } from '../result.js';

/** An open connection (a WebSocket), as its transport's adapter registers it. */
export interface LiveConnection {
  /** Ends the connection: its key is no longer admitted (revoked, expired, tenant unlinked…). */
  close(failure: KeyringFailure): void;
  /** Its key was checked again and still holds: later messages see the record as the store has it now. */
  update(record: ApiKeyRecord, tenant: Tenant | undefined): void;
}

/** The part of a `Keyring` that checks a connection's key again. */
export interface ConnectionJudge {
  readonly options: { readonly headers: readonly string[]; readonly tenancy: boolean; readonly tenantHeader: string };
  authenticate(headers: RequestHeaders): MaybePromise<Result<{ record: ApiKeyRecord }>>;
  selectTenant(record: ApiKeyRecord, headers: RequestHeaders): MaybePromise<Result<{ tenant: Tenant }>>;
}

interface Entry {
  readonly connection: LiveConnection;
  // The handshake's credential headers only, the tenant pinned to the one the connection acts for.
  readonly headers: Record<string, unknown>;
  readonly keyHash: string | undefined;
  recordId: string;
  expiry?: NodeJS.Timeout;
  retry?: NodeJS.Timeout;
  // Bumped by each check: only the latest one's answer is applied.
  checks: number;
}

// setTimeout's longest delay (about 24.8 days); a later expiry is waited for in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;
// A check the store could not answer (down, throttled) is tried again after this long.
const RETRY_MS = 1_000;
const FAULTS: ReadonlySet<KeyringFailure['reason']> = new Set(['lookup_unavailable', 'lookup_throttled']);

/**
 * The connections open in this process, by record id and by key: a key's rights hold for as long
 * as a connection uses it. `Keyring.invalidateKey`, `invalidateRecord` and `clearCache` (here, or
 * in another replica through the invalidation bus) check the connections they concern again,
 * against the store: a key refused now closes them with the refusal; a key that still holds keeps
 * them, with its record as the store has it now. A check the store cannot answer is tried again
 * every second, the connection kept meanwhile: an outage (or a flood that throttles lookups) never
 * closes a valid key's connections. A key's `expiresAt` closes them when it passes.
 */
export class ConnectionRegistry {
  // A plain set: invalidations are rare next to messages, and a scan of it costs well under a
  // millisecond for tens of thousands of connections.
  private readonly entries = new Set<Entry>();

  constructor(private readonly judge: ConnectionJudge) {}

  /** Open connections registered, for monitoring (and for tests: closed ones are gone). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Registers a connection admitted with `headers` (its handshake's, socket.io's auth merged in);
   * returns the call that forgets it, to make when it closes.
   */
  add(
    record: ApiKeyRecord,
    tenant: Tenant | undefined,
    headers: RequestHeaders,
    connection: LiveConnection,
  ): () => void {
    const { headers: names, tenantHeader } = this.judge.options;
    const kept: Record<string, unknown> = {};
    for (const name of names) kept[name] = readHeader(headers, name);
    if (tenant !== undefined) kept[tenantHeader] = String(tenant.id);
    const key = extractApiKey(headers, names);
    const keyHash = key.ok ? invalidationKeyHash(key.key) : undefined;
    const entry: Entry = { connection, headers: kept, keyHash, recordId: String(record.id), checks: 0 };
    this.entries.add(entry);
    this.closeAtExpiry(entry, record);
    return () => this.forget(entry);
  }

  /** Checks again the connections of a record (`Keyring.invalidateRecord`). */
  recheckRecord(recordId: string | number): void {
    this.recheck((entry) => entry.recordId === String(recordId));
  }

  /** Checks again the connections of a key, named by `invalidationKeyHash` (`Keyring.invalidateKey`). */
  recheckKeyHash(keyHash: string): void {
    this.recheck((entry) => entry.keyHash === keyHash);
  }

  /** Checks again every connection (`Keyring.clearCache`, or invalidations a bus outage may have lost). */
  recheckAll(): void {
    this.recheck(() => true);
  }

  private recheck(concerned: (entry: Entry) => boolean): void {
    for (const entry of this.entries) if (concerned(entry)) this.check(entry);
  }

  private check(entry: Entry): void {
    const check = ++entry.checks;
    clearTimeout(entry.retry);
    // Never at once: an invalidation made in a handler must not close a connection under it.
    void Promise.resolve()
      .then(() => this.readmit(entry.headers))
      .catch((cause: unknown) => fail('lookup_unavailable', { cause }))
      .then((result) => {
        if (!this.entries.has(entry) || entry.checks !== check) return;
        if (!result.ok && FAULTS.has(result.failure.reason)) {
          entry.retry = setTimeout(() => this.check(entry), RETRY_MS).unref();
        } else if (!result.ok) this.close(entry, result.failure);
        else {
          entry.recordId = String(result.record.id);
          entry.connection.update(result.record, result.tenant);
          this.closeAtExpiry(entry, result.record);
        }
      })
      // What the adapter does to close or update its connection is not ours to answer.
      .catch(() => undefined);
  }

  private async readmit(headers: RequestHeaders): Promise<Result<{ record: ApiKeyRecord; tenant?: Tenant }>> {
    const found = await this.judge.authenticate(headers);
    if (!found.ok || !this.judge.options.tenancy) return found;
    const chosen = await this.judge.selectTenant(found.record, headers);
    return chosen.ok ? { ok: true, record: found.record, tenant: chosen.tenant } : chosen;
  }

  private closeAtExpiry(entry: Entry, record: ApiKeyRecord): void {
    clearTimeout(entry.expiry);
    if (record.expiresAt === undefined || record.expiresAt === null) return;
    const at = expiryTime(record.expiresAt);
    const wait = () => {
      const left = at - Date.now();
      if (!(left > 0)) return this.close(entry, { reason: 'expired' });
      // An open connection keeps the process alive, not its expiry.
      entry.expiry = setTimeout(wait, Math.min(left, MAX_TIMER_MS)).unref();
    };
    wait();
  }

  private close(entry: Entry, failure: KeyringFailure): void {
    this.forget(entry);
    entry.connection.close(failure);
  }

  private forget(entry: Entry): void {
    this.entries.delete(entry);
    clearTimeout(entry.expiry);
    clearTimeout(entry.retry);
  }
}
