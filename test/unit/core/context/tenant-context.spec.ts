import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { TenantContext, TenantContextError } from '../../../../lib/core/context/tenant-context.js';

describe('TenantContext', () => {
  const context = new TenantContext();

  it('says clearly that there is no tenant outside a context', () => {
    expect(() => context.tenant).toThrow(TenantContextError);
    expect(() => context.tenant).toThrow(/no tenant in this context.*@ApiKeyAuth\(\).*TenantContext\.run/);
    expect(() => context.tenantId).toThrow(TenantContextError);
    expect(context.find()).toBeUndefined();
    expect(context.active).toBe(false);
  });

  it('gives the tenant to everything run() calls, through awaits and timers', async () => {
    const seen = await context.run({ id: 1 }, async () => {
      const before = context.tenantId;
      await sleep(5);
      const afterAwait = context.tenantId;
      const inTimer = await new Promise((resolve) => setTimeout(() => resolve(context.tenantId), 1));
      return [before, afterAwait, inTimer];
    });
    expect(seen).toEqual([1, 1, 1]);
    expect(context.active).toBe(false);
  });

  it('keeps concurrent runs apart', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => i);
    const seen = await Promise.all(
      ids.map((id) =>
        context.run({ id }, async () => {
          await sleep(Math.random() * 10);
          return context.tenantId;
        }),
      ),
    );
    expect(seen).toEqual(ids);
  });

  it('lets an inner run override the tenant for its own scope only', () => {
    context.run({ id: 'outer' }, () => {
      context.run({ id: 'inner' }, () => expect(context.tenantId).toBe('inner'));
      expect(context.tenantId).toBe('outer');
    });
  });

  it('shares one store between instances', () => {
    new TenantContext().run({ id: 9 }, () => expect(context.tenantId).toBe(9));
  });

  it.each([null, undefined, {}, { id: null }])('refuses to run as %p', (tenant) => {
    expect(() => context.run(tenant as never, () => undefined)).toThrow(/needs a tenant with an id/);
  });
});
