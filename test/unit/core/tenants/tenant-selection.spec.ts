import { describe, expect, it } from '@jest/globals';
import { chooseTenant, isTenantList, MAX_TENANT_ID_LENGTH } from '../../../../lib/core/tenants/tenant-selection.js';

const TENANTS = [{ id: 123, name: 'Acme' }, { id: 'org-b' }, { id: 7 }];

describe('chooseTenant', () => {
  it("takes the first tenant, in the lookup's order, when no header is sent", () => {
    expect(chooseTenant(TENANTS, undefined)).toEqual({ ok: true, tenant: TENANTS[0] });
    expect(chooseTenant([...TENANTS].reverse(), undefined)).toEqual({ ok: true, tenant: TENANTS[2] });
  });

  it.each([
    ['123', TENANTS[0]],
    ['org-b', TENANTS[1]],
    ['7', TENANTS[2]],
  ])('picks the tenant named %p', (header, tenant) => {
    expect(chooseTenant(TENANTS, header)).toEqual({ ok: true, tenant });
  });

  it('answers no_tenant for a key without tenants, with or without a header', () => {
    expect(chooseTenant([], undefined)).toEqual({ ok: false, failure: { reason: 'no_tenant' } });
    expect(chooseTenant([], '123')).toEqual({ ok: false, failure: { reason: 'no_tenant' } });
    expect(chooseTenant([], '*')).toEqual({ ok: false, failure: { reason: 'no_tenant' } });
  });

  it.each([
    ['a tenant of another key', '999'],
    ['an empty header', ''],
    ['a whitespace header', ' '],
    ['a repeated header', '123, 7'],
    ['a list', '123,7'],
    ['a wildcard', '*'],
    ['a path', '../x'],
    ['__proto__', '__proto__'],
    ['constructor', 'constructor'],
    ['an almost-right id', '1234'],
    ['a zero-padded id', '0123'],
    ['a case change', 'ORG-B'],
    ['a unicode look-alike', 'org‐b'],
    ['an oversized header', '1'.repeat(MAX_TENANT_ID_LENGTH + 1)],
    ['an array', ['123']],
    ['a number', 123],
    ['null', null],
  ])('answers tenant_not_found for %s, never falling back to the first tenant', (_, header) => {
    expect(chooseTenant(TENANTS, header)).toEqual({ ok: false, failure: { reason: 'tenant_not_found' } });
  });
});

describe('isTenantList', () => {
  it('accepts lists of { id } objects', () => {
    expect(isTenantList([])).toBe(true);
    expect(isTenantList(TENANTS)).toBe(true);
  });

  it.each([
    ['not a list', { id: 1 }],
    ['a tenant without id', [{ name: 'x' }]],
    ['a bare id', [1]],
    ['an empty id', [{ id: '' }]],
    ['a null entry', [null]],
  ])('refuses %s', (_, value) => {
    expect(isTenantList(value)).toBe(false);
  });
});
