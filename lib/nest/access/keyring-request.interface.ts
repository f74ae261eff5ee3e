import type { AdmittedFields } from '../../core/keyring.js';

/** A request as the guard and the interceptor see it. */
export type KeyringRequest = Record<string, unknown> & AdmittedFields & { headers: Record<string, unknown> };
