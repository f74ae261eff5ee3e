// In-process cost of the diagnostics channels on the guard's path: `await guard.canActivate(context)`
// on a key the cache holds, tenant on, inside the request scope ApiKeyModule opens, with nobody
// subscribed to the `nest-keyring:*` channels and then with a subscriber on every one of them;
// beside the added calls alone (the `hasSubscribers` checks a request makes while nobody
// listens), timed against an empty loop. Prints microseconds per check; the target: nothing
// measurable (≤ 0.02 µs) while nobody subscribes.
import 'reflect-metadata';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Module, type CanActivate } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { ApiKeyGuard, KEYRING_CHANNELS } from 'nest-keyring';
import { ITERATIONS, keyringModule, median, MessagesController, record, request, ROUNDS } from './guard-check.js';
// Internal: the scope the module's middleware opens around every request, and the calls the
// guard and the cache make on every request.
import { openTenantScope } from '../../dist/esm/core/context/tenant-context.js';
import { decisionStarted, publishAdmitted, publishCacheHit } from '../../dist/esm/core/admission/decision-events.js';

@Module({
  imports: [keyringModule()],
  controllers: [MessagesController],
})
class BenchModule {}

async function perCheck(guard: CanActivate): Promise<number> {
  const handler = MessagesController.prototype.list;
  const started = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) {
    const req = request();
    const context = new ExecutionContextHost([req, {}, () => undefined], MessagesController, handler);
    const granted = await openTenantScope(req, () => guard.canActivate(context));
    if (granted !== true) throw new Error('the guard refused the benchmark key');
  }
  return Number(process.hrtime.bigint() - started) / ITERATIONS / 1000;
}

/** The calls one admitted request makes on the channels' behalf, alone, minus an empty loop. */
function addedCallsAlone(): number {
  const req = request();
  let sink = 0;
  const loop = (withCalls: boolean) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS * 10; i++) {
      if (withCalls) {
        const at = decisionStarted();
        publishCacheHit('key_1');
        publishAdmitted(at, req, record, undefined);
        sink += at;
      } else sink += i & 1;
    }
    return Number(process.hrtime.bigint() - started) / (ITERATIONS * 10) / 1000;
  };
  const cost = loop(true) - loop(false);
  if (sink === 0.5) console.log(sink);
  return Math.max(cost, 0);
}

const app = await NestFactory.create(BenchModule, { logger: false });
await app.init();
const noop = { canActivate: () => true } as CanActivate;
const guard = app.get(ApiKeyGuard);
const channels = Object.values(KEYRING_CHANNELS);
const received: unknown[] = [];
const listener = (message: unknown) => {
  // Keeps the last message only: a subscriber that does next to nothing.
  received[0] = message;
};
const samples = { noop: [] as number[], quiet: [] as number[], observed: [] as number[], calls: [] as number[] };
for (let round = 0; round < ROUNDS; round++) {
  samples.noop.push(await perCheck(noop));
  samples.quiet.push(await perCheck(guard));
  for (const name of channels) subscribe(name, listener);
  samples.observed.push(await perCheck(guard));
  for (const name of channels) unsubscribe(name, listener);
  samples.calls.push(addedCallsAlone());
}
await app.close();
if (received.length !== 1) throw new Error('the subscriber received no message');
const floor = median(samples.noop);
const quiet = median(samples.quiet) - floor;
const observed = median(samples.observed) - floor;
const calls = median(samples.calls);
// MICRO_JSON=1 (bench/run.mjs): one JSON line for the runner instead of the text.
if (process.env.MICRO_JSON === '1') {
  console.log(JSON.stringify({ node: process.version, quiet, observed, calls }));
} else {
  console.log(
    [
      `Diagnostics channels on the guard's path, Node ${process.version}, ${ITERATIONS} checks × ${ROUNDS} rounds ` +
        '(median µs over a no-op guard):',
      `  ApiKeyGuard, cache hit, nobody subscribed          ${quiet.toFixed(3)} µs`,
      `  ApiKeyGuard, cache hit, every channel subscribed   ${observed.toFixed(3)} µs ` +
        `(+${(observed - quiet).toFixed(3)} µs: clock reads and two messages)`,
      `  the channel checks alone, nobody subscribed        ${calls.toFixed(3)} µs per request`,
      `  target ≤ 0.02 µs while nobody subscribes: ${calls <= 0.02 ? 'met' : 'missed'}`,
    ].join('\n'),
  );
}
