import { HttpException } from '@nestjs/common';
import type { ErrorResponse } from '../core/error-format.js';
import type { FailureReason, KeyringFailure } from '../core/failure.js';

/**
 * Thrown by nest-keyring's guards: an `HttpException` whose response is the configured error
 * body, so Nest's default filter answers it as is. Exception filters can read `reason`.
 */
export class ApiKeyException extends HttpException {
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
