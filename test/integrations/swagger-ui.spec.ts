// The sample app's API reference: its document at /docs-json, and its Swagger UI in a real browser
// (headless Chromium through playwright-core): the page at /docs loads the document, "Authorize"
// takes a key, and "Try it out" on a protected route answers 200 with the key and 401 without.
// Nest 12 only (@nestjs/swagger 12).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OpenAPIObject } from '@nestjs/swagger';
import { chromium, type Browser, type Page } from 'playwright-core';
import request from 'supertest';
import { AppModule } from '../../sample-app/src/app.module.js';
import { setupOpenApi } from '../../sample-app/src/openapi.js';
import { openDatabase } from '../../sample-app/src/store/database.js';
import { KeyAdmin } from '../../sample-app/src/store/key-admin.js';
import { createTestApp, type TestApp } from '../fixtures/test-app.js';
import { describeWithChromium } from '../support/chromium.js';

const WEBHOOK_SECRET = 'Vq3xYh7Lk2Pz9Rt6Wm4Nb8Cd1Fg5Js0Ae';

/** The sample app on a temporary database, with its API reference, listening on a free port. */
async function startSampleApp(directory: string): Promise<{ test: TestApp; base: string; database: string }> {
  const database = join(directory, 'keys.sqlite');
  const test = await createTestApp(
    'express',
    { imports: [AppModule.forDatabase(database, WEBHOOK_SECRET)] },
    { rawBody: true, beforeInit: setupOpenApi },
  );
  // Port 0: the system picks a free one.
  await test.app.listen(0, '127.0.0.1');
  return { test, database, base: `http://127.0.0.1:${(test.app.getHttpServer().address() as AddressInfo).port}` };
}

describe('the sample app serves its OpenAPI document at /docs-json', () => {
  let directory: string;
  let test: TestApp | undefined;
  let document: OpenAPIObject;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'keyring-openapi-'));
    let base: string;
    ({ test, base } = await startSampleApp(directory));
    const response = await request(base).get('/docs-json');
    expect(response.status).toBe(200);
    document = response.body as OpenAPIObject;
  });
  afterAll(async () => {
    await test?.close();
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  it('with no requirement on /health, the messages:send scope on the send operation, and the 401 body', () => {
    expect(document.paths['/health']?.get?.security).toBeUndefined();
    const send = document.paths['/api/v1/messages/send']?.post;
    expect(send?.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    expect(send?.description).toContain('`messages:send`');
    const unauthorized = send?.responses['401'] as { content: Record<string, { schema: unknown; examples: object }> };
    expect(unauthorized.content['application/json']!.schema).toEqual({ $ref: '#/components/schemas/KeyringError' });
    expect(Object.keys(unauthorized.content['application/json']!.examples)).toEqual([
      'AUTHENTICATION_REQUIRED',
      'INVALID_API_KEY',
    ]);
    expect(document.components?.schemas?.KeyringError).toMatchObject({ required: ['success', 'error'] });
  });
});

// Every wait in the page is bounded by this; a whole case by the Jest timeout below.
const STEP_TIMEOUT_MS = 15_000;

describeWithChromium('the sample app in a browser: Swagger UI at /docs', (executablePath) => {
  let directory: string;
  let test: TestApp | undefined;
  let browser: Browser | undefined;
  let base: string;
  let key: string;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'keyring-swagger-ui-'));
    let database: string;
    ({ test, base, database } = await startSampleApp(directory));
    const admin = new KeyAdmin(openDatabase(database));
    key = admin.create({ environment: 'production', tenantIds: [123], scopes: ['messages:read'] }).key;
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'], timeout: STEP_TIMEOUT_MS });
  }, 60_000);

  afterAll(async () => {
    // Each is closed even if another fails to.
    await Promise.allSettled([browser?.close(), test?.close()]);
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  async function openDocs(): Promise<Page> {
    const context = await browser!.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    const response = await page.goto(`${base}/docs`);
    expect(response?.status()).toBe(200);
    return page;
  }

  /** Expands `GET path`, presses "Try it out" and "Execute"; the status and body the UI shows. */
  async function tryItOut(page: Page, path: string): Promise<{ status: string; body: string }> {
    const operation = page.locator('.opblock-get').filter({ has: page.locator(`[data-path="${path}"]`) });
    await operation.locator('.opblock-summary').click();
    await operation.locator('button.try-out__btn').click();
    await operation.locator('button.execute').click();
    const live = operation.locator('.live-responses-table .response');
    const status = (await live.locator('.response-col_status').first().innerText()).trim();
    const body = await live.locator('.response-col_description').first().innerText();
    return { status, body };
  }

  it('authorizes with a key and runs "Try it out" on a protected route: 200', async () => {
    const page = await openDocs();
    try {
      await page.locator('.auth-wrapper button.authorize').click();
      const apiKeyForm = page.locator('.auth-container').filter({ hasText: 'X-API-KEY' });
      await apiKeyForm.locator('input').fill(key);
      await apiKeyForm.locator('button.authorize').click();
      await page.locator('.dialog-ux button.close-modal').click();

      const { status, body } = await tryItOut(page, '/api/v1/me');
      expect(status).toBe('200');
      expect(body).toContain('"environment": "production"');
      expect(body).not.toContain(key);
    } finally {
      await page.context().close();
    }
  }, 60_000);

  it('runs "Try it out" without a key: 401 AUTHENTICATION_REQUIRED, the body the document describes', async () => {
    const page = await openDocs();
    try {
      const { status, body } = await tryItOut(page, '/api/v1/me');
      expect(status).toBe('401');
      expect(body).toContain('AUTHENTICATION_REQUIRED');
    } finally {
      await page.context().close();
    }
  }, 60_000);
});
