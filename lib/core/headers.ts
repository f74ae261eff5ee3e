/** Request headers as Node, Express and Fastify give them: names lower-cased. */
export type RequestHeaders = Readonly<Record<string, unknown>>;

/**
 * One header's raw value. Own properties only: a polluted `Object.prototype` must never
 * supply a key or a tenant.
 */
export function readHeader(headers: RequestHeaders, name: string): unknown {
  return Object.hasOwn(headers, name) ? headers[name] : undefined;
}

// RFC 9110 token: the characters of a header name.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** Lower-cases a configured header name; `undefined` when it is not a valid one. */
export function normalizeHeaderName(name: unknown): string | undefined {
  if (typeof name !== 'string') return undefined;
  const lower = name.trim().toLowerCase();
  return HEADER_NAME.test(lower) ? lower : undefined;
}
