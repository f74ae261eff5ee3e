import { KeyringConfigError } from '../refusals/failure.js';
import type { WebhookSecrets } from './webhook-secrets.js';

/**
 * Who keeps the raw body a Standard Webhooks signature is checked against, in a Nest app:
 * - `'nest'`: Nest's own body parser, which keeps it when the app is created with
 *   `NestFactory.create(AppModule, { rawBody: true })`;
 * - `'app'`: a parser the app installs itself, which sets `req.rawBody` to the body's bytes.
 */
export type WebhookRawBodySource = 'nest' | 'app';

/** Where the warning about a body that was not kept is logged from, for the fix it names. */
export type WebhookHost = 'nest' | 'express';

const NOT_KEPT =
  'A signed webhook arrived with a body that was not kept as raw bytes, so its signature could not be checked; ' +
  'it was refused as unverifiable (401), like a bad signature. ';

const NOT_KEPT_FIX: Readonly<Record<WebhookHost, string>> = {
  nest:
    'Nest keeps raw bodies when the app is created with `NestFactory.create(AppModule, { rawBody: true })`, ' +
    'and only for application/json and application/x-www-form-urlencoded: ' +
    'add another content type a sender signs with `app.useBodyParser(type)`. ' +
    'A body parser of your own (`app.use(express.json())`, `bodyParser: false`) must set `req.rawBody` to the bytes. ' +
    'If the request did not come from one of your senders, there is nothing to change. Logged once.',
  express:
    "Mount `express.raw({ type: 'application/json' })` (with each content type your sender signs) " +
    'before `webhookSecretMiddleware`, or a parser that sets `req.rawBody` to the bytes. ' +
    'If the request did not come from one of your senders, there is nothing to change. Logged once.',
};

function isSigned(entry: unknown): boolean {
  return typeof entry === 'object' && entry !== null && (entry as { scheme?: unknown }).scheme === 'standard-webhooks';
}

/**
 * Checks the `webhookRawBody` option: `'nest'` (default) or `'app'`, and only where a Standard
 * Webhooks secret is configured (elsewhere it would do nothing).
 *
 * @throws KeyringConfigError
 */
export function resolveWebhookRawBody(value: unknown, secrets: WebhookSecrets | undefined): WebhookRawBodySource {
  if (value === undefined) return 'nest';
  if (value !== 'nest' && value !== 'app') {
    throw new KeyringConfigError(`\`webhookRawBody\` must be 'nest' or 'app'; got ${JSON.stringify(value)}.`);
  }
  if (!Object.values(secrets ?? {}).some(isSigned)) {
    throw new KeyringConfigError(
      "`webhookRawBody` only applies to `scheme: 'standard-webhooks'` secrets, and none is configured: remove it.",
    );
  }
  return value;
}

/**
 * Why a Nest app cannot start, or `undefined` when it can: routes check Standard Webhooks
 * signatures, Nest keeps the raw bodies (`'nest'`), and the app was created without `rawBody`.
 * Every signed delivery would then be refused, so it is said at start-up, not at the first one.
 *
 * @param nestRawBody the app's `rawBody` option as Nest applied it; `undefined` when it could not
 *   be seen (the request-time warning stands in)
 * @param signedRoutes the routes that check a signature, e.g. `['WebhooksController.events']`
 */
export function rawBodyStartupError(
  source: WebhookRawBodySource,
  nestRawBody: boolean | undefined,
  signedRoutes: readonly string[],
): string | undefined {
  if (source === 'app' || nestRawBody !== false || signedRoutes.length === 0) return undefined;
  const routes = signedRoutes.join(', ');
  return (
    `${routes} ${signedRoutes.length === 1 ? 'checks' : 'check'} a Standard Webhooks signature, ` +
    "which needs the request's raw body, but the app was created without `rawBody`, " +
    'so every signed delivery would be refused. Create it with `NestFactory.create(AppModule, { rawBody: true })`. ' +
    'If the app installs its own body parser that sets `req.rawBody`, ' +
    "set `webhookRawBody: 'app'` in ApiKeyModule's options instead."
  );
}

/**
 * The line to log, once, when a signed delivery arrives with a body nobody kept as bytes (a check
 * that answers `rawBodyMissing`). Such a delivery is refused like a bad signature: an anonymous
 * sender can send one, so it is never an error per request, but it can also be a set-up mistake
 * only a request shows.
 */
export function rawBodyWarning(host: WebhookHost): string {
  return NOT_KEPT + NOT_KEPT_FIX[host];
}
