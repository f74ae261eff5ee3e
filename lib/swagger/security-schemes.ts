import type { SecuritySchemeObject } from './openapi-objects.js';
import { DEFAULT_WEBHOOK_SECRET_NAME } from '../core/webhooks/webhook-secrets.js';

/** The scheme for `Authorization: Bearer <key>`. */
export const BEARER_SCHEME = 'bearer';
/** The scheme for the first other key header (`X-API-KEY` by default). */
export const API_KEY_SCHEME = 'apiKey';
/** The scheme for the `default` webhook secret; other secrets get `webhookSecret-<name>`. */
export const WEBHOOK_SECRET_SCHEME = 'webhookSecret';

/** Header names as API references usually print them (headers are case-insensitive). */
export const displayHeader = (name: string): string => name.toUpperCase();

// OpenAPI component names: letters, digits, `.`, `-` and `_`.
const componentName = (text: string): string => text.replace(/[^A-Za-z0-9._-]/g, '_');

/**
 * One security scheme per header a key is read from (the `headers` option): HTTP bearer for
 * `authorization`, an `apiKey` in the header for every other, in the configured order. A key
 * in any one of them is enough, so each is an alternative.
 */
export function apiKeySchemes(headers: readonly string[]): Record<string, SecuritySchemeObject> {
  const schemes: Record<string, SecuritySchemeObject> = {};
  for (const header of headers) {
    if (header === 'authorization') {
      schemes[BEARER_SCHEME] = {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'API key',
        description: 'An API key, sent as `Authorization: Bearer <key>`.',
      };
      continue;
    }
    const name = API_KEY_SCHEME in schemes ? `${API_KEY_SCHEME}-${componentName(header)}` : API_KEY_SCHEME;
    schemes[name] = {
      type: 'apiKey',
      in: 'header',
      name: displayHeader(header),
      description: `An API key, sent in the \`${displayHeader(header)}\` header.`,
    };
  }
  return schemes;
}

/** The name in the document of a webhook secret's scheme. */
export function webhookSchemeName(secretName: string): string {
  return secretName === DEFAULT_WEBHOOK_SECRET_NAME
    ? WEBHOOK_SECRET_SCHEME
    : `${WEBHOOK_SECRET_SCHEME}-${componentName(secretName)}`;
}

/** The scheme of a webhook secret sent as `Authorization: Bearer <secret>`. */
export function webhookSecretScheme(secretName: string): SecuritySchemeObject {
  return {
    type: 'http',
    scheme: 'bearer',
    description:
      `The webhook secret \`${secretName}\`, ` + "sent by the webhook's sender as `Authorization: Bearer <secret>`.",
  };
}
