import { BlockList, isIP } from 'node:net';
import { KeyringConfigError } from '../refusals/failure.js';
import { readHeader, type RequestHeaders } from '../admission/headers.js';

/** `trustedProxies` resolved: a test for "this address is one of our proxies". */
export type TrustedProxies = BlockList | undefined;

/**
 * Checks `trustedProxies` at start-up: each an IPv4 or IPv6 address, or a subnet in CIDR form.
 *
 * @throws KeyringConfigError naming the entry that is neither
 */
export function resolveTrustedProxies(proxies: readonly string[] | undefined): TrustedProxies {
  if (proxies === undefined) return undefined;
  if (!Array.isArray(proxies)) {
    throw new KeyringConfigError("`trustedProxies` must list proxy addresses, e.g. ['10.0.0.1', '10.0.1.0/24'].");
  }
  const list = new BlockList();
  for (const entry of proxies as unknown[]) {
    const [address = '', bits, extra] = typeof entry === 'string' ? entry.trim().split('/') : [];
    const family = isIP(address);
    const max = family === 4 ? 32 : 128;
    const prefix = Number(bits ?? max);
    if (family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      throw new KeyringConfigError(
        `\`trustedProxies\` entry ${JSON.stringify(entry)} is not an IP address or a subnet such as '10.0.0.0/8'.`,
      );
    }
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

function isTrusted(proxies: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && proxies.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Who sent a request, for the per-client budget of unknown keys: the connection's address, or,
 * when that is a trusted proxy, the rightmost `X-Forwarded-For` hop that is not one (hops to its
 * left are whatever the client wrote, so they are never believed). A non-proxy's
 * `X-Forwarded-For` is ignored. Node joins repeated `X-Forwarded-For` lines with ", ", in order,
 * so they read as one list. IPv4-mapped IPv6 addresses count as IPv4, and an IPv6 client by its
 * /64, the block one subscriber is given, so one host cannot pose as many clients.
 */
export function clientOf(remoteAddress: string | undefined, headers: RequestHeaders, proxies: TrustedProxies): string {
  let client = remoteAddress ?? '';
  if (proxies !== undefined && isTrusted(proxies, client)) {
    const forwarded = readHeader(headers, 'x-forwarded-for');
    const hops = typeof forwarded === 'string' ? forwarded.split(',') : [];
    for (let index = hops.length - 1; index >= 0; index--) {
      const hop = hops[index]!.trim();
      if (isIP(hop) === 0) break;
      client = hop;
      if (!isTrusted(proxies, hop)) break;
    }
  }
  if (client.startsWith('::ffff:') && isIP(client.slice(7)) === 4) return client.slice(7);
  return isIP(client) === 6 ? ipv6Block(client) : client;
}

/** The first 64 bits of an IPv6 address, written out: `2001:db8:0:1::/64`. */
function ipv6Block(address: string): string {
  const [head = '', tail] = address.split('::');
  const groups = head === '' ? [] : head.split(':');
  if (tail !== undefined) {
    const rest = tail === '' ? [] : tail.split(':');
    groups.push(...Array<string>(8 - groups.length - rest.length).fill('0'), ...rest);
  }
  const block = groups.slice(0, 4).map((group) => Number.parseInt(group, 16).toString(16));
  return `${block.join(':')}::/64`;
}
