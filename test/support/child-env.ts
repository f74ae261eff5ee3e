/**
 * `NODE_OPTIONS` for the Node processes a test starts (the sample app, the CLI, a program of the
 * docs): not Jest's `--experimental-vm-modules`, but what scripts/test-nodes.mjs asks every child
 * to load on another Node (the better-sqlite3 built for it).
 */
export const CHILD_NODE_OPTIONS = process.env.NEST_KEYRING_CHILD_NODE_OPTIONS ?? '';
