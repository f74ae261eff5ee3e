import type { ServerResponse } from 'node:http';
import type { AdmissionResult } from '../core/keyring.js';
import { rateLimitHeaders } from '../core/rate-limit.js';
import type { KeyringLogger } from './http-types.js';

/**
 * For an admitted request: sets the `RateLimit-Policy` and `RateLimit` headers where a limit
 * applies, and logs the warning of a rate-limit store outage (once per outage).
 */
export function reportRateLimit(
  admission: Extract<AdmissionResult, { ok: true }>,
  response: ServerResponse,
  logger: KeyringLogger,
): void {
  if (admission.warning !== undefined) {
    const message = `[nest-keyring] ${admission.warning}`;
    if (logger.warn) logger.warn(message);
    else logger.error(message);
  }
  if (admission.rateLimit === undefined || response.headersSent) return;
  for (const [name, value] of Object.entries(rateLimitHeaders(admission.rateLimit))) response.setHeader(name, value);
}
