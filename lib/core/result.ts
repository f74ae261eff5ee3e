import type { FailureReason, KeyringFailure } from './refusals/failure.js';

/** The refused side of every `Result`: why, and never the key or a secret. */
export interface Failed {
  readonly ok: false;
  readonly failure: KeyringFailure;
}

/**
 * The outcome of one decision: `ok: true` with what was decided spread on it (`record`,
 * `tenant`, `key`…), or `ok: false` with the `failure`. `Extra` adds fields to the refused side
 * where a caller needs more than the reason (e.g. which record a cached refusal belongs to).
 *
 * @example
 * const result = await keyring.admit(req.headers);
 * if (!result.ok) return res.status(keyring.errorResponse(result.failure).status).end();
 * console.log(result.record.id, result.tenant?.id);
 */
export type Result<T extends object = object, Extra extends object = object> =
  ({ readonly ok: true } & T) | (Failed & Extra);

/** Builds a refusal; the single place that shapes one. */
export function fail(reason: FailureReason, extra?: Omit<KeyringFailure, 'reason'>): Failed {
  return { ok: false, failure: { reason, ...extra } };
}
