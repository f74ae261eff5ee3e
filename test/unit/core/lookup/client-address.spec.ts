import { describe, expect, it } from '@jest/globals';
import { clientOf, resolveTrustedProxies } from '../../../../lib/core/lookup/client-address.js';
import { KeyringConfigError } from '../../../../lib/core/refusals/failure.js';

describe('clientOf', () => {
  const proxies = resolveTrustedProxies(['10.0.0.1', '10.1.0.0/16', 'fd00::1']);

  it("is the connection's address, and ignores X-Forwarded-For from anyone but a trusted proxy", () => {
    expect(clientOf('192.0.2.7', { 'x-forwarded-for': '198.51.100.1' }, proxies)).toBe('192.0.2.7');
    expect(clientOf('192.0.2.7', { 'x-forwarded-for': '198.51.100.1' }, undefined)).toBe('192.0.2.7');
    expect(clientOf('::ffff:192.0.2.7', {}, undefined)).toBe('192.0.2.7');
    expect(clientOf(undefined, {}, undefined)).toBe('');
  });

  it("believes a trusted proxy's rightmost hop that is not itself a proxy, never what the client wrote", () => {
    // The client wrote "203.0.113.9"; the proxy appended the address it saw.
    expect(clientOf('10.0.0.1', { 'x-forwarded-for': '203.0.113.9, 198.51.100.1' }, proxies)).toBe('198.51.100.1');
    // Two proxies in a row, one of them IPv4-mapped.
    expect(clientOf('::ffff:10.0.0.1', { 'x-forwarded-for': '203.0.113.9, 198.51.100.1, 10.1.2.3' }, proxies)).toBe(
      '198.51.100.1',
    );
    // Repeated X-Forwarded-For lines, as Node joins them.
    expect(clientOf('10.0.0.1', { 'x-forwarded-for': '203.0.113.9, 198.51.100.1,198.51.100.2' }, proxies)).toBe(
      '198.51.100.2',
    );
    // No header, or a hop that is no address: the proxy itself.
    expect(clientOf('10.0.0.1', {}, proxies)).toBe('10.0.0.1');
    expect(clientOf('10.0.0.1', { 'x-forwarded-for': '198.51.100.1, junk' }, proxies)).toBe('10.0.0.1');
    // Only the proxies' hops: the leftmost of them.
    expect(clientOf('10.0.0.1', { 'x-forwarded-for': '10.1.0.5, 10.1.0.6' }, proxies)).toBe('10.1.0.5');
  });

  it('counts an IPv6 client by its /64', () => {
    expect(clientOf('2001:db8:0:1::1', {}, undefined)).toBe('2001:db8:0:1::/64');
    expect(clientOf('2001:db8:0:1:ffff:1:2:3', {}, undefined)).toBe('2001:db8:0:1::/64');
    expect(clientOf('2001:db8::', {}, undefined)).toBe('2001:db8:0:0::/64');
    expect(clientOf('::1', {}, undefined)).toBe('0:0:0:0::/64');
    expect(clientOf('fd00::1', { 'x-forwarded-for': '2001:0db8:0000:0002::9' }, proxies)).toBe('2001:db8:0:2::/64');
  });
});

describe('resolveTrustedProxies', () => {
  it('refuses an entry that is neither an address nor a subnet, at start-up', () => {
    for (const entry of ['10.0.0.300', 'proxy.internal', '10.0.0.0/33', '10.0.0.0/8/1', 'fd00::/129', 7]) {
      expect(() => resolveTrustedProxies([entry as string])).toThrow(KeyringConfigError);
    }
    expect(() => resolveTrustedProxies('10.0.0.1' as unknown as string[])).toThrow(/must list proxy addresses/);
    expect(() => resolveTrustedProxies(['10.0.0.0/8', ' 192.168.1.1 ', 'fd00::/8'])).not.toThrow();
  });
});
