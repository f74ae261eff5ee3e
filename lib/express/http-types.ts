import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiKeyRecord, Tenant } from '../core/keys/api-key-record.js';

/**
 * The request as the middleware sees it: Node's, which Express (4 and 5) and Nest's middleware
 * layer extend. Typed structurally so the package needs no Express types.
 */
export type KeyringIncomingMessage = IncomingMessage & { apiKey?: ApiKeyRecord; tenant?: Tenant };

/** Connect-style `next`. */
export type NextFunction = (error?: unknown) => void;

/** Where middleware report faults (a failing key store). Keys and secrets are never logged. */
export interface KeyringLogger {
  error(message: string): void;
  /** Once per rate-limit store outage (requests are then let through); `error` when absent. */
  warn?(message: string): void;
  /** Why a key was refused by the format rules (never the key), when given. */
  debug?(message: string): void;
}

/** A Connect/Express middleware. */
export type KeyringMiddleware = (request: KeyringIncomingMessage, response: ServerResponse, next: NextFunction) => void;
