import type { KeyAdmin } from './store/key-admin.js';

export const DEMO_LABEL = 'demo';

/**
 * The label of a key rolled from `label`: a demo key's successor is the operator's key, which the
 * next start must not revoke with the demo keys.
 */
export function rolledKeyLabel(label: string | null): string | null {
  const demo = label === DEMO_LABEL || label?.startsWith(`${DEMO_LABEL}:`);
  return demo ? `rolled from ${label}` : label;
}

/**
 * Demo keys for this run, signed like every key of the app (`KeyAdmin`): the previous run's on the
 * same port are revoked (their keys were only ever printed, never stored) and new ones are created,
 * so each start prints keys that work. Per
 * port, so that a second instance on the same database (another PORT, the same KEYRING_DB) leaves
 * the first one's keys working.
 */
export function createDemoKeys(admin: KeyAdmin, port: string | number = 3000) {
  const label = `${DEMO_LABEL}:${port}`;
  admin.revokeLabelled(label);
  // Demo keys of versions that labelled them for every port alike.
  admin.revokeLabelled(DEMO_LABEL);
  return {
    production: admin.create({
      environment: 'production',
      tenantIds: [123, 456],
      scopes: ['messages:send', 'messages:read', 'keys:admin'],
      label,
    }),
    staging: admin.create({ environment: 'staging', tenantIds: [789], scopes: ['messages:read'], label }),
  };
}
