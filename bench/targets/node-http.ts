// Row 1: a bare node:http server, the floor. No routing library, no auth.
import { createServer } from 'node:http';
import { announce, BODY, benchKey, exitWithRunner, HOST } from './common.js';

exitWithRunner();
const key = benchKey();

const server = createServer((request, response) => {
  const body = JSON.stringify(request.url === '/bench/whoami' ? { key: null, tenant: null, context: null } : BODY);
  response.writeHead(request.url === '/bench' || request.url === '/bench/whoami' ? 200 : 404, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  });
  response.end(body);
});
server.listen(0, HOST, () => announce(server, key));
