import { KeyringConfigError } from '../refusals/failure.js';

/** Request headers as Node, Express and Fastify give them: names lower-cased. */
export type RequestHeaders = Readonly<Record<string, unknown>>;

/**
 * One header's raw value. Own properties only: a polluted `Object.prototype` must never
 * supply a key or a tenant.
 */
export function readHeader(headers: RequestHeaders, name: string): unknown {
  return Object.hasOwn(headers, name) ? headers[name] : undefined;
}

// RFC 9110 token: the characters of an auth scheme.
const AUTH_SCHEME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

/**
 * The credential in `Authorization: Bearer <credential>`, read the one way API keys and webhook
 * secrets both use: the scheme case-insensitive (RFC 9110 §11.1), then exactly one space.
 * `undefined` when the scheme is not Bearer; `null` when it is, but not followed by one space
 * (two spaces, a tab, nothing) — such a header is never trimmed into a match.
 */
export function bearerCredential(value: string): string | null | undefined {
  // The common spelling, read without a regular expression; every other one below.
  if (value.startsWith('Bearer ')) return value.slice(7);
  const scheme = AUTH_SCHEME.exec(value)?.[0];
  if (scheme === undefined || scheme.toLowerCase() !== 'bearer') return undefined;
  return value[scheme.length] === ' ' ? value.slice(scheme.length + 1) : null;
}

// RFC 9110 token: the characters of a header name.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** Lower-cases a configured header name. @throws KeyringConfigError when it is not a valid one */
export function checkHeaderName(name: unknown, option: string): string {
  const lower = typeof name === 'string' ? name.trim().toLowerCase() : '';
  if (!HEADER_NAME.test(lower)) {
    throw new KeyringConfigError(`\`${option}\` (${JSON.stringify(name)}) is not a valid HTTP header name.`);
  }
  return lower;
}

/**
 * The first of `names` (lower-cased) that the request carried on more than one line, else
 * `undefined`. Node keeps only the first `Authorization` line in `headers` and joins most other
 * repeated headers with ", ", so `rawHeaders` (`[name, value, name, value, …]`, as Node received
 * them) is the only place a repeat always shows. A proxy that reads the last line would see
 * another credential than we do: such a request is refused, never guessed at.
 */
export function repeatedHeader(
  rawHeaders: readonly string[] | undefined,
  names: readonly string[],
): string | undefined {
  if (rawHeaders === undefined) return undefined;
  let seen: string[] | undefined;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const line = rawHeaders[index];
    // Cheap length filter first: most header lines are none of ours.
    for (const name of names) {
      if (line.length !== name.length || line.toLowerCase() !== name) continue;
      if (seen?.includes(name)) return name;
      (seen ??= []).push(name);
    }
  }
  return undefined;
}
