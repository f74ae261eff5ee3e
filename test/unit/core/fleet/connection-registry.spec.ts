import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { ApiKeyRecord, Tenant } from '../../../../lib/core/keys/api-key-record.js';
import { ConnectionRegistry, type ConnectionJudge } from '../../../../lib/core/fleet/connection-registry.js';
import type { KeyringFailure } from '../../../../lib/core/refusals/failure.js';
import { invalidationKeyHash } from '../../../../lib/core/fleet/invalidation-bus.js';
import { fail, type Result } from '../../../../lib/core/result.js';

const KEY = 'pk_registry_key';

/** A judge whose answers the test sets, one per key; each check is recorded. */
function judge(tenancy = true) {
  const answers = new Map<string, Result<{ record: ApiKeyRecord }> | Promise<Result<{ record: ApiKeyRecord }>>>();
  const checks: Record<string, unknown>[] = [];
  const chosen: (string | undefined)[] = [];
  const value: ConnectionJudge = {
    options: { headers: ['x-api-key'], tenancy, tenantHeader: 'x-tenant-id' },
    authenticate(headers) {
      checks.push(headers as Record<string, unknown>);
      return answers.get(String(headers['x-api-key'])) ?? fail('invalid');
    },
    selectTenant(record, headers) {
      const wanted = headers['x-tenant-id'] as string | undefined;
      chosen.push(wanted);
      const tenant = record.tenants?.find((candidate) => String(candidate.id) === (wanted ?? String(candidate.id)));
      return tenant === undefined ? fail('tenant_not_found') : { ok: true, tenant };
    },
  };
  return { value, answers, checks, chosen };
}

function connection() {
  const closed: KeyringFailure[] = [];
  const updates: [ApiKeyRecord, Tenant | undefined][] = [];
  return {
    closed,
    updates,
    close: (failure: KeyringFailure) => closed.push(failure),
    update: (record: ApiKeyRecord, tenant: Tenant | undefined) => updates.push([record, tenant]),
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
const RECORD: ApiKeyRecord = { id: 7, tenants: [{ id: 1 }, { id: 2 }] };

afterEach(() => {
  jest.useRealTimers();
});

describe('ConnectionRegistry', () => {
  it('checks again only the connections of the record or key invalidated, never at once', async () => {
    const { value, answers, checks } = judge();
    const registry = new ConnectionRegistry(value);
    const first = connection();
    const other = connection();
    registry.add(RECORD, { id: 2 }, { 'x-api-key': KEY, cookie: 'c=1' }, first);
    registry.add({ id: 'other' }, undefined, { 'x-api-key': 'pk_other' }, other);
    answers.set(KEY, fail('revoked'));
    registry.recheckRecord('7');
    // Not within the caller's turn: an invalidation made in a handler never closes a socket under it.
    expect(checks).toEqual([]);
    await flush();
    expect(first.closed).toEqual([{ reason: 'revoked' }]);
    expect(other.closed).toEqual([]);
    // Only the credential headers are kept, the tenant pinned to the connection's.
    expect(checks).toEqual([{ 'x-api-key': KEY, 'x-tenant-id': '2' }]);
    expect(registry.size).toBe(1);

    registry.recheckKeyHash(invalidationKeyHash('pk_other'));
    await flush();
    expect(other.closed).toEqual([{ reason: 'invalid' }]);
    expect(registry.size).toBe(0);
  });

  it('keeps a connection whose key holds, with the new record, on its own tenant', async () => {
    const { value, answers, chosen } = judge();
    const registry = new ConnectionRegistry(value);
    const live = connection();
    registry.add(RECORD, { id: 2 }, { 'x-api-key': KEY }, live);
    const changed = { id: 7, tenants: [{ id: 1 }, { id: 2, name: 'renamed' }], scopes: [] };
    answers.set(KEY, { ok: true, record: changed });
    registry.recheckAll();
    await flush();
    expect(live.closed).toEqual([]);
    expect(live.updates).toEqual([[changed, { id: 2, name: 'renamed' }]]);
    expect(chosen).toEqual(['2']);
  });

  it('applies only the latest check: a late answer to an earlier one is dropped', async () => {
    const { value, answers } = judge();
    const registry = new ConnectionRegistry(value);
    const live = connection();
    registry.add(RECORD, undefined, { 'x-api-key': KEY }, live);
    let answerLate!: (result: Result<{ record: ApiKeyRecord }>) => void;
    answers.set(KEY, new Promise((resolve) => (answerLate = resolve)));
    registry.recheckRecord(7);
    await flush();
    answers.set(KEY, fail('revoked'));
    registry.recheckRecord(7);
    await flush();
    expect(live.closed).toEqual([{ reason: 'revoked' }]);
    answerLate({ ok: true, record: RECORD });
    await flush();
    expect(live.updates).toEqual([]);
  });

  it('keeps the connection through a store fault and checks again every second until it answers', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'queueMicrotask', 'nextTick'] });
    const { value, answers, checks } = judge();
    const registry = new ConnectionRegistry(value);
    const live = connection();
    registry.add(RECORD, undefined, { 'x-api-key': KEY }, live);
    answers.set(KEY, fail('lookup_unavailable'));
    registry.recheckRecord(7);
    await flush();
    answers.set(KEY, Promise.reject(new Error('store down')));
    jest.advanceTimersByTime(1_000);
    await flush();
    expect(live.closed).toEqual([]);
    answers.set(KEY, fail('lookup_throttled'));
    jest.advanceTimersByTime(1_000);
    await flush();
    expect(live.closed).toEqual([]);
    answers.set(KEY, fail('revoked'));
    jest.advanceTimersByTime(1_000);
    await flush();
    expect(live.closed).toEqual([{ reason: 'revoked' }]);
    expect(checks).toHaveLength(4);
    // Closed: no more checks.
    jest.advanceTimersByTime(5_000);
    await flush();
    expect(checks).toHaveLength(4);
  });

  it("closes at the key's expiry, moved by a check that finds a new expiresAt", async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'queueMicrotask', 'nextTick'] });
    const { value, answers } = judge(false);
    const registry = new ConnectionRegistry(value);
    const live = connection();
    registry.add({ id: 7, expiresAt: Date.now() + 60_000 }, undefined, { 'x-api-key': KEY }, live);
    answers.set(KEY, { ok: true, record: { id: 7, expiresAt: Date.now() + 2_000 } });
    registry.recheckRecord(7);
    await flush();
    jest.advanceTimersByTime(1_999);
    expect(live.closed).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(live.closed).toEqual([{ reason: 'expired' }]);
    expect(registry.size).toBe(0);
  });

  it('forgets a connection that closed: nothing checks or closes it any more', async () => {
    const { value, answers, checks } = judge();
    const registry = new ConnectionRegistry(value);
    const live = connection();
    const forget = registry.add(RECORD, undefined, { 'x-api-key': KEY }, live);
    answers.set(KEY, fail('revoked'));
    registry.recheckRecord(7);
    forget();
    forget();
    await flush();
    expect(live.closed).toEqual([]);
    expect(registry.size).toBe(0);
    const made = checks.length;
    registry.recheckAll();
    await flush();
    expect(checks).toHaveLength(made);
  });
});
