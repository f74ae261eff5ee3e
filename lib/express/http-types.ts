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

/**
 * The logger middleware use unless given one: `console` for errors and warnings, and no `debug`,
 * so a flood of made-up keys writes no line per request.
 */
export const consoleLogger: KeyringLogger = Object.freeze({
  error: (message: string) => console.error(message),
  warn: (message: string) => console.warn(message),
});

/** A Connect/Express middleware. */
export type KeyringMiddleware = (request: KeyringIncomingMessage, response: ServerResponse, next: NextFunction) => void;
