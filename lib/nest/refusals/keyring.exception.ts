import { HttpException } from '@nestjs/common';
import type { ErrorResponse } from '../../core/refusals/error-format.js';
import type { FailureReason, KeyringFailure } from '../../core/refusals/failure.js';

/**
 * Thrown by nest-keyring's guards and interceptor for every refusal, API key and webhook alike:
 * an `HttpException` whose response is the configured error body, so Nest's default filter
 * answers it as is. Exception filters can read `reason`.
 *
 * @example
 * @Catch(KeyringException)
 * export class RefusalFilter implements ExceptionFilter {
 *   catch(error: KeyringException, host: ArgumentsHost) { metrics.count(error.reason); ... }
 * }
 */
export class KeyringException extends HttpException {
  /** The stable reason, e.g. `'invalid'` or `'tenant_not_found'`. */
  readonly reason: FailureReason;

  constructor(
    readonly failure: KeyringFailure,
    readonly errorResponse: ErrorResponse,
  ) {
    super(errorResponse.body as Record<string, unknown>, errorResponse.status);
    this.reason = failure.reason;
  }
}
