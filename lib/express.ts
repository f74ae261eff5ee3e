/**
 * `nest-keyring/express`: the package for apps without Nest. The same checks, answers and key
 * tools as the root entry, and nothing that loads `@nestjs/*`, `rxjs` or `reflect-metadata`.
 *
 * @example
 * import express from 'express';
 * import { apiKeyMiddleware, Keyring, lookupByHash, tenantMiddleware } from 'nest-keyring/express';
 *
 * const keyring = new Keyring({ lookup: lookupByHash((hash) => db.keys.findByHash(hash)) });
 * const app = express();
 * app.use('/api', apiKeyMiddleware(keyring), tenantMiddleware(keyring));
 */
export * from './core/index.js';
export * from './express/index.js';
