import type { KeyAdmin } from './store/key-admin.js';

export const DEMO_LABEL = 'demo';

/**
 * Demo keys for this run: the previous run's are revoked (their keys were only ever printed,
 * never stored) and new ones are created, so each start prints keys that work.
 */
export function createDemoKeys(admin: KeyAdmin) {
  admin.revokeLabelled(DEMO_LABEL);
  return {
    production: admin.create({
      environment: 'production',
      tenantIds: [123, 456],
      scopes: ['messages:send', 'messages:read', 'keys:admin'],
      label: DEMO_LABEL,
    }),
    staging: admin.create({ environment: 'staging', tenantIds: [789], scopes: ['messages:read'], label: DEMO_LABEL }),
  };
}
