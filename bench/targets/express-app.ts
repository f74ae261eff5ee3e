// One plain Express 5 app serving every compared Express route, compared inside one process:
//   /plain    no middleware
//   /noop     two middlewares that only call next()
//   /sha      a hand-written middleware (SHA-256 of the key, one Map read) and a no-op one
//   /sha-scope the same, and a tenant context for the rest of the request (AsyncLocalStorage.run)
//   /keyring  apiKeyMiddleware + tenantMiddleware (one Keyring over the in-memory lookup)
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Server } from 'node:http';
import express from 'express';
import {
  apiKeyMiddleware,
  Keyring,
  TenantContext,
  tenantMiddleware,
  type KeyringIncomingMessage,
} from 'nest-keyring/express';
import {
  announce,
  BODY,
  handWrittenLookup,
  HOST,
  inMemoryLookup,
  newKey,
  record,
  signingSecrets,
  type Row,
} from './common.js';

const secrets = signingSecrets();
const main = newKey(secrets !== undefined);
const keyring = new Keyring({
  lookup: inMemoryLookup(new Map([[main.hash, record('key_bench')]])),
  ...(secrets ? { signingSecrets: secrets } : {}),
});
const tenants = new TenantContext();
const pass = (_request: unknown, _response: unknown, next: () => void) => next();
const answer = (_request: unknown, response: express.Response) => {
  response.json(BODY);
};

const app = express();
app.get('/plain', answer);
app.get('/noop', pass, pass, answer);
// What a hand-written middleware costs: SHA-256 of the key, one Map read, the record on the request.
const findOwn = handWrittenLookup(main.key);
const handWritten = (request: express.Request, response: express.Response, next: () => void) => {
  const header = request.headers.authorization;
  const found = header?.startsWith('Bearer ') && findOwn(header.slice(7));
  if (!found) return void response.status(401).end();
  (request as unknown as { apiKey: unknown }).apiKey = found;
  next();
};
app.get('/sha', handWritten, pass, answer);
const handWrittenContext = new AsyncLocalStorage<{ key: unknown; tenant: number }>();
const inContext = (request: express.Request, _response: unknown, next: () => void) =>
  handWrittenContext.run({ key: (request as unknown as { apiKey: unknown }).apiKey, tenant: 456 }, next);
app.get('/sha-scope', handWritten, inContext, answer);
app.get('/keyring', apiKeyMiddleware(keyring), tenantMiddleware(keyring), answer);
app.get('/keyring/whoami', apiKeyMiddleware(keyring), tenantMiddleware(keyring), (request, response) => {
  const { apiKey, tenant } = request as unknown as KeyringIncomingMessage;
  response.json({ key: apiKey?.id ?? null, tenant: tenant?.id ?? null, context: tenants.find()?.id ?? null });
});

const rows: Row[] = [
  { id: 'x-plain', name: 'Express, no middleware', path: '/plain', key: main.key, status: 200, guarded: false },
  { id: 'x-noop', name: 'Express, two no-op middlewares', path: '/noop', key: main.key, status: 200, guarded: false },
  {
    id: 'x-sha',
    name: 'Express, a hand-written middleware (SHA-256 + Map) and a no-op one',
    path: '/sha',
    key: main.key,
    status: 200,
    guarded: true,
  },
  {
    id: 'x-sha-scope',
    name: 'Express, the hand-written middleware and a tenant context (AsyncLocalStorage)',
    path: '/sha-scope',
    key: main.key,
    status: 200,
    guarded: true,
  },
  {
    id: 'x-keyring',
    name: 'Express, apiKeyMiddleware + tenantMiddleware',
    path: '/keyring',
    key: main.key,
    status: 200,
    guarded: true,
  },
];
const server: Server = app.listen(0, HOST, () => announce(server, rows));
