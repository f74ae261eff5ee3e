import type { OperationObject, ParameterObject, ReferenceObject, SecurityRequirementObject } from '@nestjs/swagger';
import type { ResolvedKeyringOptions } from '../core/options/keyring-options.js';
import { refusalResponse, refusalsFor, type Refusal } from './refusal-responses.js';
import type { RouteSecurity } from './route-security.js';
import { displayHeader, webhookSchemeName } from './security-schemes.js';

/** What marking one operation needs besides its route. */
export interface MarkingContext {
  options: ResolvedKeyringOptions;
  /** The document as `@nestjs/swagger` built it: its version, and the requirement of operations that name none. */
  document: { openapi: string; security?: SecurityRequirementObject[] };
  /** The API-key schemes, each one alternative. */
  apiKeySchemes: readonly string[];
  /** Every scheme name this package adds; requirements naming only others are the app's own. */
  ownSchemes: ReadonlySet<string>;
}

const SIGNATURE_HEADERS: readonly [string, string][] = [
  ['webhook-id', 'The delivery id, the same for every retry of the delivery.'],
  ['webhook-timestamp', 'When the delivery was signed, in Unix seconds.'],
  [
    'webhook-signature',
    'The Standard Webhooks signature(s) of the id, the timestamp and the body. ' +
      'Senders that send through Svix may name the three headers `svix-id`, `svix-timestamp`, `svix-signature`.',
  ],
];

const list = (names: readonly string[]) => names.map((name) => `\`${name}\``).join(', ');

/** The requirement this package adds: any one key header (and the webhook secret, if checked). */
function ownRequirements(security: RouteSecurity, context: MarkingContext): SecurityRequirementObject[] {
  const webhook: SecurityRequirementObject =
    security.webhook?.scheme === 'bearer' ? { [webhookSchemeName(security.webhook.name)]: [] } : {};
  if (!security.apiKey) return Object.keys(webhook).length > 0 ? [webhook] : [];
  // OpenAPI 3.0 allows scopes in a requirement for OAuth only; 3.1 for any scheme.
  const scopes = context.document.openapi.startsWith('3.0') ? [] : [...security.scopes];
  return context.apiKeySchemes.map((scheme) => ({ ...webhook, [scheme]: scopes }));
}

/** A requirement without this package's schemes; `undefined` when nothing else is left. */
function withoutOwn(requirement: SecurityRequirementObject, own: ReadonlySet<string>) {
  const rest = Object.entries(requirement).filter(([name]) => !own.has(name));
  return rest.length > 0 ? Object.fromEntries(rest) : undefined;
}

/**
 * Sets the operation's `security`: the app's own requirements (say, a session) stay and must be
 * met as well; this package's schemes appear where its guards check the route, and nowhere else,
 * even if the document names them for every operation.
 */
function markSecurity(operation: OperationObject, security: RouteSecurity, context: MarkingContext): void {
  const declared = operation.security ?? context.document.security;
  const others = (declared ?? [])
    .map((requirement) => withoutOwn(requirement, context.ownSchemes))
    .filter((requirement) => requirement !== undefined);
  const own = ownRequirements(security, context);
  if (own.length === 0) {
    // Leave the operation alone unless one of ours would otherwise apply to it.
    if (declared !== undefined && others.length !== declared.length) operation.security = others;
    return;
  }
  operation.security =
    others.length === 0 ? own : others.flatMap((other) => own.map((requirement) => ({ ...other, ...requirement })));
}

/** Adds a header parameter, unless the operation declares that header already. */
function addHeaderParameter(operation: OperationObject, parameter: Omit<ParameterObject, 'in'>): void {
  const name = parameter.name.toLowerCase();
  const declared = (operation.parameters ?? []).some(
    (given: ParameterObject | ReferenceObject) =>
      'in' in given && given.in === 'header' && given.name.toLowerCase() === name,
  );
  if (declared) return;
  (operation.parameters ??= []).push({ in: 'header', schema: { type: 'string' }, ...parameter });
}

/**
 * Marks one operation of the document for its route: the security requirement, the scopes, the
 * tenant header, the signature headers of a signed webhook, and the refusals (status, code and
 * body) the route can answer. Responses the app documented itself are kept as they are.
 *
 * @returns the refusals documented, for the shared error schema
 */
export function markOperation(operation: OperationObject, security: RouteSecurity, context: MarkingContext): Refusal[] {
  markSecurity(operation, security, context);
  if (security.apiKey && security.scopes.length > 0) {
    const note = `Requires an API key with the scope${security.scopes.length > 1 ? 's' : ''} ${list(security.scopes)}.`;
    operation.description = operation.description ? `${operation.description}\n\n${note}` : note;
  }
  if (security.apiKey && context.options.tenancy) {
    addHeaderParameter(operation, {
      name: displayHeader(context.options.tenantHeader),
      required: false,
      description: "The tenant to act for, one the key is linked to. Omitted: the key's first tenant.",
    });
  }
  if (security.webhook?.scheme === 'standard-webhooks') {
    for (const [name, description] of SIGNATURE_HEADERS)
      addHeaderParameter(operation, { name, required: true, description });
  }
  const refusals = refusalsFor(security, context.options);
  for (const status of new Set(refusals.map((refusal) => refusal.status))) {
    const ofStatus = refusals.filter((refusal) => refusal.status === status);
    operation.responses[String(status)] ??= refusalResponse(status, ofStatus);
  }
  return refusals;
}
