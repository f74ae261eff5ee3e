import type { HeaderObject } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import { bodyField, createErrorResponder, ERROR_PRESETS, SIGNATURE_REASONS } from '../core/refusals/error-format.js';
import type { FailureReason } from '../core/refusals/failure.js';
import type { ResolvedKeyringOptions } from '../core/options/keyring-options.js';
import type { ResponseObject, SchemaObject } from './openapi-objects.js';
import type { RouteSecurity } from './route-security.js';

/** One documented refusal: what the configured error format answers for a reason. */
export interface Refusal {
  status: number;
  /** The body's code (`error.code`, or `code`), else the reason. */
  code: string;
  message: string | undefined;
  body: unknown;
  headers: Record<string, string>;
}

/** The component schema every refusal's body refers to. */
export const ERROR_SCHEMA = 'KeyringError';

const ALL_REASONS = Object.keys(ERROR_PRESETS.cubeconnect) as FailureReason[];
const TENANT_REASONS: ReadonlySet<FailureReason> = new Set<FailureReason>(['no_tenant', 'tenant_not_found']);

/** The reasons a request to the route can be refused for, as the guards check it. */
function reasonsFor({ apiKey, scopes, webhook }: RouteSecurity, options: ResolvedKeyringOptions): FailureReason[] {
  return ALL_REASONS.filter((reason) =>
    reason.startsWith('webhook_')
      ? webhook !== undefined && SIGNATURE_REASONS.includes(reason) === (webhook.scheme !== 'bearer')
      : apiKey &&
        (options.tenancy || !TENANT_REASONS.has(reason)) &&
        (scopes.length > 0 || reason !== 'insufficient_scope') &&
        (options.unknownKeyLookups !== false || reason !== 'lookup_throttled') &&
        (options.rateLimit !== false || reason !== 'rate_limited'),
  );
}

/**
 * What the configured error format answers for each way the route can be refused, one entry per
 * status and code. A custom `errorFormat` function is asked the same way; a reason it throws for
 * is left out.
 */
export function refusalsFor(security: RouteSecurity, options: ResolvedKeyringOptions): Refusal[] {
  const respond = createErrorResponder(options.errorFormat, options.realm, options.headers);
  const seen = new Map<string, Refusal>();
  for (const reason of reasonsFor(security, options)) {
    let answer: ReturnType<typeof respond>;
    try {
      answer = respond({ reason, requiredScopes: security.scopes });
    } catch {
      continue;
    }
    const code = bodyField(answer.body, 'code');
    const message = bodyField(answer.body, 'message');
    const refusal: Refusal = {
      status: answer.status,
      code: typeof code === 'string' ? code : reason,
      message: typeof message === 'string' ? message : undefined,
      body: answer.body,
      headers: answer.headers,
    };
    const key = `${refusal.status} ${refusal.code}`;
    const same = seen.get(key);
    // One code for two reasons (a store that failed, or was spared): the headers of either may come.
    if (same !== undefined) same.headers = { ...refusal.headers, ...same.headers };
    else seen.set(key, refusal);
  }
  return [...seen.values()].sort((a, b) => a.status - b.status);
}

const HEADER_DESCRIPTIONS: Readonly<Record<string, string>> = {
  'WWW-Authenticate': 'The authentication challenge (RFC 9110, RFC 6750)',
  'Retry-After': 'Seconds to wait before trying again',
};

/** The response object for the refusals of one status, their bodies as named examples. */
export function refusalResponse(status: number, refusals: readonly Refusal[]): ResponseObject {
  const lines = refusals.map(({ code, message }) => `- \`${code}\`${message === undefined ? '' : `: ${message}`}`);
  const headers: Record<string, HeaderObject> = {};
  for (const refusal of refusals) {
    for (const [name, value] of Object.entries(refusal.headers)) {
      headers[name] ??= {
        description: `${HEADER_DESCRIPTIONS[name] ?? name}, e.g. \`${value}\`.`,
        schema: { type: 'string' },
      };
    }
  }
  return {
    description: `${STATUS_CODES[status] ?? `HTTP ${status}`}:\n${lines.join('\n')}`,
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    content: {
      'application/json': {
        schema: { $ref: `#/components/schemas/${ERROR_SCHEMA}` },
        examples: Object.fromEntries(
          // The summary names the example in Swagger UI's list: the code says which refusal it is.
          refusals.map(({ code, message, body }) => [
            code,
            { summary: message ? `${code}: ${message}` : code, value: body },
          ]),
        ),
      },
    },
  };
}

/**
 * The schema of the refusal bodies: the presets' `{ success: false, error: { code, message } }`
 * with the codes the document shows; for a custom `errorFormat`, the shape its answers have.
 */
export function errorBodySchema(options: ResolvedKeyringOptions, refusals: readonly Refusal[]): SchemaObject {
  if (typeof options.errorFormat === 'string') {
    return {
      type: 'object',
      description: 'Why the request was refused.',
      required: ['success', 'error'],
      properties: {
        success: { type: 'boolean', enum: [false] },
        error: {
          type: 'object',
          required: ['code', 'message'],
          properties: {
            code: { type: 'string', enum: [...new Set(refusals.map(({ code }) => code))].sort() },
            message: { type: 'string' },
          },
        },
      },
    };
  }
  const schemas = refusals.map(({ body }) => schemaOf(body));
  return schemas.length > 0 ? schemas.reduce(mergeSchemas) : { type: 'object' };
}

/** A schema for one value, as a custom error format answered it. */
function schemaOf(value: unknown): SchemaObject {
  if (Array.isArray(value)) return { type: 'array', items: value.length > 0 ? schemaOf(value[0]) : {} };
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    return {
      type: 'object',
      required: entries.map(([name]) => name),
      properties: Object.fromEntries(entries.map(([name, field]) => [name, schemaOf(field)])),
    };
  }
  if (typeof value === 'string' || typeof value === 'boolean') return { type: typeof value };
  if (typeof value === 'number') return { type: Number.isInteger(value) ? 'integer' : 'number' };
  return {};
}

/** The schema both answers satisfy: fields of either, required only where both have them. */
function mergeSchemas(a: SchemaObject, b: SchemaObject): SchemaObject {
  const numeric = (type: unknown) => type === 'integer' || type === 'number';
  if (numeric(a.type) && numeric(b.type)) return a.type === b.type ? a : { type: 'number' };
  if (a.type !== b.type) return {};
  if (a.type !== 'object') return a;
  const properties: Record<string, SchemaObject> = { ...(a.properties as Record<string, SchemaObject>) };
  for (const [name, field] of Object.entries((b.properties ?? {}) as Record<string, SchemaObject>)) {
    properties[name] = name in properties ? mergeSchemas(properties[name]!, field) : field;
  }
  const required = (a.required ?? []).filter((name) => (b.required ?? []).includes(name));
  return { type: 'object', ...(required.length > 0 ? { required } : {}), properties };
}
