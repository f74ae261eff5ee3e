import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  publishWebhookRefused,
  publishWebhookVerified,
  webhookCheckStarted,
} from '../core/admission/decision-events.js';
import { createErrorResponder, resolveErrorFormat, type ErrorFormat } from '../core/refusals/error-format.js';
import { KeyringConfigError } from '../core/refusals/failure.js';
import { createRawBodyWarning } from '../core/webhooks/webhook-raw-body.js';
import { asRawBody, asRawHeaders } from '../core/webhooks/webhook-request.js';
import {
  DEFAULT_WEBHOOK_SECRET_NAME,
  requireWebhookSecret,
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
  logger?: WebhookLogger;
}

/** A logger for `webhookSecretMiddleware`: `warn` is used when there is one. */
export type WebhookLogger = KeyringLogger & { warn?(message: string): void };

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
  const secret = requireWebhookSecret(
    resolveWebhookSecrets(options.webhookSecrets),
    name,
    `webhookSecretMiddleware({ name: ${JSON.stringify(name)} })`,
  );
  const respond = createErrorResponder(resolveErrorFormat(options.errorFormat));
  const logger = options.logger ?? console;
  const rawBodyWarning = createRawBodyWarning('express');
  const responder = { errorResponse: respond };
  return (request, response, next) => {
    // For `nest-keyring:webhook-*` diagnostics messages; reads no clock while nobody subscribes.
    const started = webhookCheckStarted();
    const rawBody = asRawBody(request.rawBody) ?? asRawBody(request.body);
    const result = secret.verify(
      { headers: request.headers, rawBody, rawHeaders: asRawHeaders(request.rawHeaders) },
      Date.now(),
    );
    if (result.ok) {
      publishWebhookVerified(started, request, secret);
      next();
      return;
    }
    const warning = rawBodyWarning(result);
    if (warning !== undefined) warn(logger, `[nest-keyring] ${warning}`);
    publishWebhookRefused(started, request, result.failure, responder, secret);
    sendRefusal(response, result.failure, respond, logger, next);
  };
}

function warn(logger: WebhookLogger, line: string): void {
  if (typeof logger.warn === 'function') logger.warn(line);
  else logger.error(line);
}
