import {
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { AsyncResource } from 'node:async_hooks';
import { lastValueFrom, Observable } from 'rxjs';

/** The Node response under an adapter's reply: Express's is one, Fastify's holds it in `raw`. */
interface NodeResponse {
  writableFinished: boolean;
  once(event: 'finish' | 'close', listener: () => void): unknown;
}

function nodeResponse(reply: unknown): NodeResponse | undefined {
  for (const candidate of [reply, (reply as { raw?: unknown } | undefined)?.raw]) {
    const response = candidate as Partial<NodeResponse> | undefined;
    if (typeof response?.once === 'function' && typeof response.writableFinished === 'boolean')
      return response as NodeResponse;
  }
  return undefined;
}

/** Settles once the response has been handed to the network (or the client left). */
function responseDone(reply: unknown): Promise<void> {
  const response = nodeResponse(reply);
  return new Promise((done) => {
    // No Node response to watch: Nest writes the reply in the microtasks after our Observable
    // completes, and an immediate runs after them.
    if (response === undefined || response.writableFinished) return void setImmediate(done);
    response.once('finish', done);
    response.once('close', done);
  });
}

/**
 * Answers the request at once (the status from `@HttpCode`, 200 with `@WebhookAck()`, empty
 * body) and runs the handler after the answer has been sent, as a webhook sender that retries
 * after a few seconds wants (the Connexease Gateway waits 5 s).
 *
 * The handler still runs inside the request's async context (a tenant context, for one), with
 * its pipes. What it returns is discarded. If it throws or rejects, the error is logged at error
 * level under the logger context `WebhookAck` (override `onError` to report it elsewhere),
 * never lost silently; but it can no longer change the answer, so neither can a pipe that
 * fails. `app.close()` waits for handlers still running. Guards run before this interceptor,
 * so a refused webhook is never acknowledged.
 *
 * @example
 * @WebhookSecret()
 * @WebhookAck()               // = @HttpCode(200) + @UseInterceptors(WebhookAckInterceptor)
 * @Post('webhooks/connexease')
 * async receive(@Body() event: ConnexeaseEvent) {
 *   await this.events.process(event); // runs after the 200 has been sent
 * }
 */
@Injectable()
export class WebhookAckInterceptor implements NestInterceptor, BeforeApplicationShutdown {
  protected readonly logger = new Logger('WebhookAck');
  private readonly running = new Set<Promise<void>>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<undefined> {
    const reply = context.switchToHttp().getResponse<unknown>();
    return new Observable<undefined>((subscriber) => {
      // Bound here, so the handler runs in this request's async context, not the socket's.
      const work = responseDone(reply).then(AsyncResource.bind(() => this.handleAfterAck(context, next)));
      this.running.add(work);
      void work.then(() => this.running.delete(work));
      subscriber.next(undefined);
      subscriber.complete();
    });
  }

  /** Waits for acknowledged handlers still running, so their work is not cut off by a shutdown. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.running]);
  }

  /**
   * Reports an error thrown by a handler after its webhook was acknowledged. The default logs
   * it with its stack under the logger context `WebhookAck`.
   */
  protected onError(error: unknown, context: ExecutionContext): void {
    const where = `${context.getClass().name}.${context.getHandler().name}`;
    this.logger.error(
      `${where} failed after its webhook was acknowledged: ${describe(error)}`,
      error instanceof Error ? error.stack : undefined,
    );
  }

  private async handleAfterAck(context: ExecutionContext, next: CallHandler): Promise<void> {
    try {
      await lastValueFrom(next.handle(), { defaultValue: undefined });
    } catch (error) {
      try {
        this.onError(error, context);
      } catch (reportError) {
        // An override that throws must not turn into an unhandled rejection or hide the error.
        this.logger.error(`onError threw while reporting ${describe(error)}: ${describe(reportError)}`);
      }
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
