import { execFileSync } from 'node:child_process';

/**
 * `NODE_OPTIONS` for the Node processes a test starts (the sample app, the CLI, a program of the
 * docs): not Jest's `--experimental-vm-modules`, but what scripts/test-nodes.mjs asks every child
 * to load on another Node (the better-sqlite3 built for it).
 */
export const CHILD_NODE_OPTIONS = process.env.NEST_KEYRING_CHILD_NODE_OPTIONS ?? '';

/** Runs `node <args>` with `CHILD_NODE_OPTIONS` and answers its output, trimmed; throws if it fails. */
export function runNode(args: string[]): string {
  return execFileSync(process.execPath, args, {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: CHILD_NODE_OPTIONS },
  }).trim();
}
