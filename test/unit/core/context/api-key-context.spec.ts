import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiKeyContext, ApiKeyContextError } from '../../../../lib/core/context/api-key-context.js';
import type { ApiKeyRecord } from '../../../../lib/core/keys/api-key-record.js';
import { TenantContext } from '../../../../lib/core/context/tenant-context.js';

describe('ApiKeyContext', () => {
  const keys = new ApiKeyContext();
  const tenants = new TenantContext();
  const record: ApiKeyRecord = Object.freeze({ id: 'key_1', tenants: [{ id: 7 }] });

  it('finds nothing outside a request, and says clearly why `key` has none', () => {
    expect(keys.find()).toBeUndefined();
    expect(keys.active).toBe(false);
    expect(() => keys.key).toThrow(ApiKeyContextError);
    expect(() => keys.key).toThrow(/no API key in this context.*@ApiKeyAuth\(\).*ApiKeyContext\.run/);
    expect(() => keys.keyId).toThrow(ApiKeyContextError);
  });

  it('gives the record to everything run() calls, through awaits and timers, and nothing after', async () => {
    const seen = await keys.run(record, async () => {
      const before = keys.key;
      await sleep(5);
      const inTimer = await new Promise((resolve) => setTimeout(() => resolve(keys.keyId), 1));
      return [before, keys.find(), inTimer, keys.active];
    });
    expect(seen).toEqual([record, record, 'key_1', true]);
    expect(keys.find()).toBeUndefined();
  });

  it('keeps concurrent runs apart', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `key_${i}`);
    const seen = await Promise.all(
      ids.map((id) =>
        keys.run({ id, tenants: [] }, async () => {
          await sleep(Math.random() * 10);
          return keys.keyId;
        }),
      ),
    );
    expect(seen).toEqual(ids);
  });

  it('nests with TenantContext.run either way round: each sets its own, keeps the other', () => {
    const both = () => [keys.find()?.id, tenants.find()?.id];
    expect(keys.run(record, () => tenants.run({ id: 7 }, both))).toEqual(['key_1', 7]);
    expect(tenants.run({ id: 7 }, () => keys.run(record, both))).toEqual(['key_1', 7]);
    // An inner run changes its own field for its own scope only.
    keys.run(record, () =>
      tenants.run({ id: 7 }, () => {
        expect(keys.run({ id: 'inner', tenants: [] }, both)).toEqual(['inner', 7]);
        expect(both()).toEqual(['key_1', 7]);
      }),
    );
  });

  it('shares one store between instances', () => {
    new ApiKeyContext().run(record, () => expect(keys.keyId).toBe('key_1'));
  });

  it.each([null, undefined, {}, { id: null }])('refuses to run as %p', (candidate) => {
    expect(() => keys.run(candidate as never, () => undefined)).toThrow(/needs a key record with an id/);
  });
});
