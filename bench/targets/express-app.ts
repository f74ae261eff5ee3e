// Rows 8a and 8b: plain Express 5, without (8a) and with (8b) apiKeyMiddleware + tenantMiddleware
// sharing one Keyring (default cache) over the in-memory lookup. Diagnostic variants (`--diagnose`):
//   apikey-only  apiKeyMiddleware alone (key + tenant chosen, no tenant context)
//   als-only     no keyring: a middleware that only runs next() in AsyncLocalStorage.run()
//   async-next   no keyring: a middleware that only calls next() from a resolved promise's then()
//   two-noop     no keyring: two middlewares that only call next(), mounted as 8b mounts its two
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Server } from 'node:http';
import express from 'express';
import { Keyring, TenantContext } from 'nest-keyring';
import { apiKeyMiddleware, tenantMiddleware, type KeyringIncomingMessage } from 'nest-keyring/express';
import { announce, BODY, benchKey, exitWithRunner, HOST, inMemoryLookup, inMemoryRecords } from './common.js';

exitWithRunner();
const variant = process.argv[2];
const VARIANTS = ['plain', 'keyring', 'apikey-only', 'als-only', 'async-next', 'two-noop'];
if (!VARIANTS.includes(variant!)) throw new Error(`express-app: unknown variant ${variant}`);
const key = benchKey();
const tenants = new TenantContext();

const app = express();
if (variant === 'keyring' || variant === 'apikey-only') {
  const keyring = new Keyring({ lookup: inMemoryLookup(inMemoryRecords(key)) });
  if (variant === 'keyring') app.use('/bench', apiKeyMiddleware(keyring), tenantMiddleware(keyring));
  else app.use('/bench', apiKeyMiddleware(keyring));
}
if (variant === 'two-noop') {
  const pass = (_request: unknown, _response: unknown, next: () => void) => next();
  app.use('/bench', pass, pass);
}
if (variant === 'async-next') {
  app.use('/bench', (_request, _response, next) => {
    Promise.resolve().then(() => next(), next);
  });
}
if (variant === 'als-only') {
  const storage = new AsyncLocalStorage<{ id: number }>();
  const tenant = { id: 456 };
  app.use('/bench', (_request, _response, next) => storage.run(tenant, next));
}
app.get('/bench', (_request, response) => {
  response.json(BODY);
});
app.get('/bench/whoami', (request, response) => {
  const { apiKey, tenant } = request as unknown as KeyringIncomingMessage;
  response.json({ key: apiKey?.id ?? null, tenant: tenant?.id ?? null, context: tenants.find()?.id ?? null });
});

const server: Server = app.listen(0, HOST, () => announce(server, key));
