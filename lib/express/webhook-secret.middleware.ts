import type { IncomingMessage, ServerResponse } from 'node:http';
import { createErrorResponder, resolveErrorFormat, type ErrorFormat } from '../core/refusals/error-format.js';
import { KeyringConfigError } from '../core/refusals/failure.js';
import { KeyringWebhooks } from '../core/webhooks/keyring-webhooks.js';
import {
  DEFAULT_WEBHOOK_SECRET_NAME,
  resolveWebhookSecrets,
  type WebhookSecrets,
} from '../core/webhooks/webhook-secrets.js';
import type { KeyringLogger, NextFunction } from './http-types.js';
import { sendRefusal } from './send-refusal.js';

/**
 * The request as the middleware reads it: Node's, as Express (4 or 5) and Connect pass it.
 * `rawBody` (set by a parser's `verify`) or a `Buffer` in `body` (`express.raw()`) carry the
 * bytes a signed webhook is checked against.
 */
export type WebhookMiddlewareRequest = IncomingMessage & { rawBody?: unknown; body?: unknown };

/** Options of `webhookSecretMiddleware`; the names are the Nest module's. */
export interface WebhookSecretMiddlewareOptions {
  /** Secrets by name, exactly as in `ApiKeyModule.forRoot({ webhookSecrets })`. Required. */
  webhookSecrets: WebhookSecrets;
  /**
   * The secret this endpoint checks.
   * @default 'default'
   */
  name?: string;
  /**
   * How refusals are answered: `'cubeconnect'`, `'connexease'` or a function.
   * @default 'cubeconnect'
   */
  errorFormat?: ErrorFormat;
  /**
   * Where a set-up mistake only a request can show is reported, once: a signed webhook whose
   * body was not kept as bytes, at `warn` (at `error` for a logger without `warn`). Secrets are
   * never logged.
   * @default console
   */
  logger?: KeyringLogger;
}

/**
 * Express middleware that checks a webhook came from its sender, with the same rules, error
 * bodies and `WWW-Authenticate` headers as `WebhookSecretGuard`. A refused request is answered
 * here and never reaches the next handler.
 *
 * For a Bearer secret it reads only headers: mount it before the body parser, and a request
 * with a wrong secret is refused before its body is read. A Standard Webhooks secret needs the
 * body's exact bytes: mount `express.raw({ type: 'application/json' })` before it. A signed
 * delivery whose body was not kept as bytes is refused like a bad signature (401), and a
 * warning with the fix is logged once.
 *
 * Options are checked here, when the app is built: a bad secret or an unknown `name` throws
 * `KeyringConfigError`.
 *
 * @example
 * app.post(
 *   '/webhook',
 *   webhookSecretMiddleware({ webhookSecrets: { default: process.env.WEBHOOK_SECRET! } }),
 *   express.json(),
 *   (req, res) => {
 *     res.sendStatus(200);
 *     setImmediate(() => handleEvent(req.body));
 *   },
 * );
 */
export function webhookSecretMiddleware(
  options: WebhookSecretMiddlewareOptions,
): (request: WebhookMiddlewareRequest, response: ServerResponse, next: NextFunction) => void {
  if (typeof options !== 'object' || options === null) {
    throw new KeyringConfigError(
      'webhookSecretMiddleware(options) needs `{ webhookSecrets }`, ' +
        'e.g. { webhookSecrets: { default: process.env.WEBHOOK_SECRET } }.',
    );
  }
  const name = options.name ?? DEFAULT_WEBHOOK_SECRET_NAME;
  const secrets = resolveWebhookSecrets(options.webhookSecrets);
  const refusals = { errorResponse: createErrorResponder(resolveErrorFormat(options.errorFormat)) };
  // The app's own parser keeps raw bodies (`express.raw()`).
  const webhooks = new KeyringWebhooks(secrets, 'app', refusals, 'express');
  const secret = webhooks.secret(name, `webhookSecretMiddleware({ name: ${JSON.stringify(name)} })`);
  const logger = options.logger ?? console;
  return (request, response, next) => {
    const result = webhooks.check(secret, request);
    if (result.ok) return next();
    if (result.warning !== undefined) (logger.warn ?? logger.error).call(logger, `[nest-keyring] ${result.warning}`);
    sendRefusal(response, result.failure, refusals, logger, next);
  };
}
