import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHILD_NODE_OPTIONS } from '../support/child-env.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Demo {
  process: ChildProcess;
  output: string;
  base: string;
  production: { key: string; id: string };
  staging: { key: string; id: string };
}

/** Starts the sample app as users do (`node sample-app/dist/main.js`) and reads the demo keys it prints. */
async function startSampleApp(build: string, database: string): Promise<Demo> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(build, 'main.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_OPTIONS: CHILD_NODE_OPTIONS,
      PORT: String(port),
      KEYRING_DB: database,
      NODE_ENV: 'development',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while (!/GraphQL \(/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      throw new Error(`the sample app did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const keyLine = (environment: string) => {
    const match = new RegExp(`${environment}\\s+(\\S+)\\s+(\\S+)\\s+tenants`).exec(output);
    if (match === null) throw new Error(`no ${environment} key in:\n${output}`);
    return { key: match[1]!, id: match[2]! };
  };
  return {
    process: child,
    output,
    base: `http://127.0.0.1:${port}`,
    production: keyLine('production'),
    staging: keyLine('staging'),
  };
}

/** A GraphQL answer, as the tests read it. */
type GraphqlAnswer = { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };

describe('the sample app over GraphQL (spawned, on its own port)', () => {
  let build: string;
  let directory: string;
  let demo: Demo;

  beforeAll(async () => {
    // The sample compiled as `npm start` compiles it (the package itself is built by `npm run build`),
    // into a folder of this test's own: another test compiling the sample at the same time writes elsewhere.
    mkdirSync(join(ROOT, 'sample-app', 'dist'), { recursive: true });
    build = mkdtempSync(join(ROOT, 'sample-app', 'dist', 'graphql-e2e-'));
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '-p', 'sample-app/tsconfig.json', '--outDir', build], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    directory = mkdtempSync(join(tmpdir(), 'keyring-sample-gql-'));
    demo = await startSampleApp(build, join(directory, 'keys.sqlite'));
  }, 120_000);
  afterAll(async () => {
    if (demo?.process.exitCode === null) {
      const exited = new Promise((resolve) => demo.process.once('exit', resolve));
      demo.process.kill('SIGTERM');
      await exited;
    }
    rmSync(directory, { recursive: true, force: true });
    rmSync(build, { recursive: true, force: true });
  });

  const post = (query: string, headers: Record<string, string> = {}) =>
    fetch(`${demo.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query }),
    }).then(async (response) => ({
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as GraphqlAnswer,
    }));

  const ME = '{ me { keyId environment tenant { id name } } }';

  it('answers `me` with the key id the app printed, with Bearer, X-API-KEY and X-TENANT-ID', async () => {
    const bearer = await post(ME, { Authorization: `Bearer ${demo.production.key}` });
    expect({ status: bearer.status, body: bearer.body }).toEqual({
      status: 200,
      body: {
        data: {
          me: { keyId: demo.production.id, environment: 'production', tenant: { id: 123, name: 'Acme Trading' } },
        },
      },
    });
    const second = await post(ME, { 'X-API-KEY': demo.production.key, 'X-TENANT-ID': '456' });
    // The tenant as GET /api/v1/me answers it: the same id (a number) and name.
    const rest = await fetch(`${demo.base}/api/v1/me`, {
      headers: { 'X-API-KEY': demo.production.key, 'X-TENANT-ID': '456' },
    }).then((response) => response.json() as Promise<{ data: { tenant: unknown } }>);
    expect(second.body.data.me.tenant).toEqual(rest.data.tenant);
    expect(second.body.data.me.tenant).toMatchObject({ id: 456 });
    const staging = await post(ME, { 'X-API-KEY': demo.staging.key });
    expect(staging.body.data.me).toMatchObject({ keyId: demo.staging.id, environment: 'staging' });
  });

  it.each<[string, Record<string, string>, number, string]>([
    ['no key', {}, 401, 'AUTHENTICATION_REQUIRED'],
    ['an unknown key', { 'X-API-KEY': 'pk_0000000000000000000000000000000000000000' }, 401, 'INVALID_API_KEY'],
    ['tenant 999', { 'X-TENANT-ID': '999' }, 403, 'TENANT_NOT_FOUND'],
  ])('refuses %s with the code in errors[0].extensions.code and no data', async (_, headers, status, code) => {
    const withKey = 'X-TENANT-ID' in headers ? { 'X-API-KEY': demo.production.key, ...headers } : headers;
    const response = await post(ME, withKey);
    expect({
      status: response.status,
      code: response.body.errors?.[0]?.extensions?.code,
      data: response.body.data,
    }).toEqual({ status, code, data: null });
    expect(JSON.stringify(response.body)).not.toMatch(/stacktrace|Forbidden resource/);
  });

  it('sends a message with messages:send, as the chosen tenant, and refuses a key without the scope', async () => {
    const mutation = 'mutation { sendMessage(phone: "+966501234567", body: "Hi") { messageId tenantId status } }';
    const sent = await post(mutation, { Authorization: `Bearer ${demo.production.key}`, 'X-TENANT-ID': '456' });
    expect(sent.status).toBe(200);
    expect(sent.body.data.sendMessage).toMatchObject({ tenantId: '456', status: 'queued' });
    const listed = await fetch(`${demo.base}/api/v1/messages`, {
      headers: { 'X-API-KEY': demo.production.key, 'X-TENANT-ID': '456' },
    }).then((response) => response.json() as Promise<{ data: { message_id: string }[] }>);
    expect(listed.data.map((message) => message.message_id)).toContain(sent.body.data.sendMessage.messageId);

    const refused = await post(mutation, { 'X-API-KEY': demo.staging.key });
    expect({
      status: refused.status,
      code: refused.body.errors?.[0]?.extensions?.code,
      data: refused.body.data,
    }).toEqual({
      status: 403,
      code: 'INSUFFICIENT_SCOPE',
      data: null,
    });
  });

  it('refuses introspection without a key (401, code, no data)', async () => {
    const response = await post('{ __schema { queryType { name } } }');
    expect({
      status: response.status,
      code: response.body.errors?.[0]?.extensions?.code,
      data: response.body.data,
    }).toEqual({ status: 401, code: 'AUTHENTICATION_REQUIRED', data: undefined });
  });

  it('names no field of the schema to a client without a key, not even in a validation error', async () => {
    const response = await post('{ mee { keyId } }');
    expect(response.body.errors?.map((error) => error.message)).toEqual(['Cannot query field "mee" on type "Query".']);
    expect(JSON.stringify(response.body)).not.toMatch(/Did you mean|"me"/);
  });

  it('answers introspection with a key', async () => {
    const response = await post('{ __schema { mutationType { fields { name } } } }', {
      'X-API-KEY': demo.production.key,
    });
    expect(response.status).toBe(200);
    expect(response.body.data.__schema.mutationType.fields).toEqual([{ name: 'sendMessage' }]);
  });
});
