import type { HttpAdapterHost } from '@nestjs/core';
import type { Observable } from 'rxjs';

/**
 * The `rawBody` option an app's HTTP adapter was given, by adapter. Nest has no public way to read
 * an app's options, but its HTTP adapter contract (`HttpServer` in `@nestjs/common`) says how it
 * passes this one on: `app.init()` calls `registerParserMiddleware(globalPrefix, rawBody)` (unless
 * `bodyParser: false`), and `app.useBodyParser(type)` calls `useBodyParser(type, rawBody, …)`.
 * Both are recorded here, on Nest 10, 11 and 12, on Express and Fastify alike.
 */
const rawBodyByAdapter = new WeakMap<object, boolean>();
const watched = new WeakSet<object>();

/** Wraps the adapter's parser methods so their `rawBody` argument (the second) is recorded. */
function watchAdapter(adapter: unknown): void {
  if (typeof adapter !== 'object' || adapter === null || watched.has(adapter)) return;
  watched.add(adapter);
  const methods = adapter as Record<string, unknown>;
  for (const method of ['registerParserMiddleware', 'useBodyParser']) {
    const original = methods[method];
    if (typeof original !== 'function') continue;
    try {
      methods[method] = function (this: unknown, ...args: unknown[]) {
        rawBodyByAdapter.set(adapter, args[1] === true);
        return original.apply(this, args) as unknown;
      };
    } catch {
      // A frozen adapter keeps its method: the option stays unknown, and the app still starts.
    }
  }
}

/**
 * Starts recording the app's `rawBody` option; call it before `app.init()`, from a provider's
 * constructor. `NestFactory.create` sets the HTTP adapter before it creates providers. A testing
 * module creates them first: Nest 11 and later then announce the adapter (`HttpAdapterHost.init$`);
 * Nest 10 does not, and the option stays unknown.
 */
export function watchRawBodyOption(adapterHost: HttpAdapterHost): void {
  const { httpAdapter } = adapterHost;
  if (httpAdapter !== undefined && httpAdapter !== null) return watchAdapter(httpAdapter);
  const announced = (adapterHost as { init$?: Observable<void> }).init$;
  announced?.subscribe(() => watchAdapter(adapterHost.httpAdapter));
}

/**
 * The `rawBody` option the app applied, once `app.init()` has registered its body parsers;
 * `undefined` when it could not be seen (no HTTP adapter, a Nest 10 testing module, or
 * `bodyParser: false` with no `app.useBodyParser()`).
 */
export function rawBodyOption(adapterHost: HttpAdapterHost): boolean | undefined {
  const adapter: unknown = adapterHost.httpAdapter;
  return typeof adapter === 'object' && adapter !== null ? rawBodyByAdapter.get(adapter) : undefined;
}
