// Shared by every benchmark target: the response body, the in-memory key store, and how a
// target tells the runner it is listening.
import type { AddressInfo, Server } from 'node:net';
import { hashApiKey, type ApiKeyLookup, type ApiKeyRecord } from 'nest-keyring';

/** What every measured handler answers, in every target. */
export const BODY = { success: true, data: { status: 'ok' } };

/** The key the runner made with `generateApiKey()`; in-memory targets store its hash. */
export function benchKey(): string {
  const key = process.env.BENCH_KEY;
  if (!key) throw new Error('BENCH_KEY is not set: targets are started by bench/run.mjs');
  return key;
}

/** The record every in-memory target (and the SQLite store) holds for the bench key. */
export function benchRecord(): ApiKeyRecord {
  return {
    id: 'key_bench',
    environment: 'production',
    scopes: ['messages:send', 'messages:read'],
    tenants: [
      { id: 123, name: 'Acme Trading' },
      { id: 456, name: 'Globex Retail' },
    ],
    expiresAt: null,
    revoked: false,
  };
}

/** Key hash -> record, as the README's in-memory example keeps them. */
export function inMemoryRecords(key: string): Map<string, ApiKeyRecord> {
  return new Map([[hashApiKey(key), benchRecord()]]);
}

/** The README's in-memory lookup: hash the key, read the map. */
export function inMemoryLookup(records: Map<string, ApiKeyRecord>): ApiKeyLookup {
  return { findKey: async (key) => records.get(hashApiKey(key)) ?? null };
}

/**
 * Tells the runner (over IPC) the port the server listens on and the key to send. The target
 * exits when the runner goes away, so no target outlives a crashed runner.
 */
export function announce(server: Server, key: string): void {
  const { port } = server.address() as AddressInfo;
  if (!process.send) throw new Error('targets are started by bench/run.mjs (no IPC channel)');
  process.send({ type: 'ready', port, key, pid: process.pid });
}

export function exitWithRunner(): void {
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

/** Loopback only. */
export const HOST = '127.0.0.1';
