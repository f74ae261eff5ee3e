import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  Body,
  Controller,
  Injectable,
  Post,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Observable, throwError } from 'rxjs';
import request from 'supertest';
import { ApiKeyModule, WebhookAck, WebhookSecret } from '../lib/index.js';
import { HandlerLog, ADAPTERS, type AdapterName, type TestApp } from './fixtures/test-app.js';
import { createWebhookTestApp, expectRefused, NO_KEYS } from './fixtures/webhook-app.js';
import { WEBHOOK_SECRETS, webhookSecretsOption } from './fixtures/webhook-secrets.js';

/** A gate the test opens, so a handler can be held until after its answer has arrived. */
class Gate {
  private openGate!: () => void;
  readonly opened = new Promise<void>((resolve) => {
    this.openGate = resolve;
  });
  open(): void {
    this.openGate();
  }
}

@Injectable()
class Work {
  gate = new Gate();
  finished = new Gate();
  events: unknown[] = [];
  requestIds: unknown[] = [];
  reset(): void {
    this.gate = new Gate();
    this.finished = new Gate();
    this.events = [];
    this.requestIds = [];
  }
}

/** Stands for any interceptor that keeps request state in an AsyncLocalStorage (like TenantInterceptor). */
const requestId = new AsyncLocalStorage<string>();
@Injectable()
class RequestIdInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return new Observable((subscriber) => requestId.run('req-42', () => next.handle().subscribe(subscriber)));
  }
}

@Controller('webhooks')
class AckController {
  constructor(
    private readonly handlers: HandlerLog,
    private readonly work: Work,
  ) {}

  @WebhookSecret()
  @WebhookAck()
  @Post('slow')
  async slow(@Body() event: unknown) {
    this.handlers.ran('started');
    await this.work.gate.opened;
    this.work.events.push(event);
    this.handlers.ran('finished');
    this.work.finished.open();
    return { ignored: true };
  }

  @WebhookSecret()
  @WebhookAck()
  @Post('throws')
  throws() {
    this.handlers.ran('throws');
    throw new Error('event store rejected the event');
  }

  @WebhookSecret()
  @WebhookAck()
  @Post('rejects')
  async rejects() {
    this.handlers.ran('rejects');
    await sleep(5);
    throw new TypeError('cannot read event.data');
  }

  @WebhookSecret()
  @WebhookAck()
  @Post('observable')
  observable() {
    this.handlers.ran('observable');
    return throwError(() => new Error('stream failed'));
  }

  @UseInterceptors(RequestIdInterceptor)
  @WebhookSecret()
  @WebhookAck()
  @Post('context')
  async context() {
    await sleep(1);
    this.work.requestIds.push(requestId.getStore());
    this.handlers.ran('context');
    this.work.finished.open();
  }
}

async function ackApp(adapter: AdapterName): Promise<TestApp> {
  return createWebhookTestApp(adapter, {
    imports: [ApiKeyModule.forRoot({ lookup: NO_KEYS, webhookSecrets: webhookSecretsOption() })],
    controllers: [AckController],
    providers: [Work],
  });
}

const AUTH = { Authorization: `Bearer ${WEBHOOK_SECRETS.connexease}` };
const EVENT = { type: 'message.received', id: 'evt_1' };

async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 2000) throw new Error('timed out waiting');
    await sleep(5);
  }
}

describe.each(ADAPTERS)('@WebhookAck() on %s', (adapter) => {
  let test: TestApp;
  let work: Work;
  const post = (path: string) => request(test.app.getHttpServer()).post(`/webhooks/${path}`);
  beforeAll(async () => {
    test = await ackApp(adapter);
    work = test.app.get(Work);
  });
  afterAll(() => test.close());
  beforeEach(() => {
    test.handlers.calls.length = 0;
    test.logger.lines.length = 0;
    work.reset();
  });

  it('answers 200 before the handler finishes, then runs it to the end with the payload', async () => {
    // The handler waits for a gate that opens only once the answer is here: if the answer
    // waited for the handler, this request would never complete.
    const response = await post('slow').set(AUTH).send(EVENT);
    expect(response.status).toBe(200);
    expect(response.text).toBe('');
    expect(test.handlers.calls).not.toContain('finished');
    work.gate.open();
    await work.finished.opened;
    expect(test.handlers.calls).toEqual(['started', 'finished']);
    expect(work.events).toEqual([EVENT]);
  });

  it('never acknowledges a refused webhook, and never runs its handler', async () => {
    const response = await post('slow').set('Authorization', `Bearer ${WEBHOOK_SECRETS.stranger}`).send(EVENT);
    expectRefused(test, response, 401, 'INVALID_WEBHOOK_SECRET', 'Bearer realm="api", error="invalid_token"');
    await sleep(20);
    expect(test.handlers.calls).toEqual([]);
  });

  it.each([
    ['throws', 'Error: event store rejected the event'],
    ['rejects', 'TypeError: cannot read event.data'],
    ['observable', 'Error: stream failed'],
  ])('logs the error of a handler that %s after the 200, with its stack', async (path, error) => {
    const response = await post(path).set(AUTH).send(EVENT);
    expect(response.status).toBe(200);
    await until(() => test.logger.lines.some((line) => line.startsWith('error')));
    const line = test.logger.lines.find((entry) => entry.startsWith('error'))!;
    expect(line).toContain(`AckController.${path} failed after its webhook was acknowledged: ${error}`);
    expect(line).toContain('WebhookAck');
    expect(line).toMatch(/webhook-ack\.e2e-spec\.ts/);
    expect(test.handlers.calls).toEqual([path]);
  });

  it("runs the handler in the request's async context", async () => {
    expect((await post('context').set(AUTH).send(EVENT)).status).toBe(200);
    await work.finished.opened;
    expect(work.requestIds).toEqual(['req-42']);
  });

  it('lets app.close() wait for handlers still running', async () => {
    const own = await ackApp(adapter);
    const ownWork = own.app.get(Work);
    expect((await request(own.app.getHttpServer()).post('/webhooks/slow').set(AUTH).send(EVENT)).status).toBe(200);
    let closed = false;
    const closing = own.close().then(() => {
      closed = true;
    });
    await sleep(30);
    expect(closed).toBe(false);
    ownWork.gate.open();
    await closing;
    expect(own.handlers.calls).toEqual(['started', 'finished']);
  });
});
