// In-process cost of one guard check (part of `npm run bench`): `await guard.canActivate(context)`
// on a key the cache holds, tenant on, inside the request scope ApiKeyModule opens, minus the same
// loop with a no-op guard; beside @nestjs/passport + passport-headerapikey on the same check and a
// hand-written rule-less guard. Prints microseconds per check and whether the targets are met:
// at most 1.0 µs over a no-op guard, and at most half of passport's cost.
import 'reflect-metadata';
import { Injectable, Module, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import { ApiKeyGuard, hashApiKey, type ApiKeyRecord } from 'nest-keyring';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ITERATIONS, key, keyringModule, median, MessagesController, records, request, ROUNDS } from './guard-check.js';

// Internal: the scope ApiKeyModule's middleware opens around every request on the Node versions
// that need it (before Node 24); from Node 24 on the guard enters it itself. Read from the build
// under test (bench/run.mjs --compare-package points BENCH_PACKAGE_DIR at another one); a build
// without the flag opened the scope on every Node.
interface TenantContextInternals {
  openTenantScope<R>(request: object, fn: () => R): R;
  enteredScopesStayInTheirCallback?: boolean;
}
const packageDir = process.env.BENCH_PACKAGE_DIR ?? new URL('../../dist/esm', import.meta.url).pathname;
const internals = (await import(
  pathToFileURL(join(packageDir, 'core/tenant-context.js')).href
)) as TenantContextInternals;
const { openTenantScope } = internals;

// MICRO_SCOPED=1 opens the scope whatever the Node (to measure a build that always opened it).
const SCOPED = process.env.MICRO_SCOPED
  ? process.env.MICRO_SCOPED === '1'
  : internals.enteredScopesStayInTheirCallback !== true;

@Injectable()
class HeaderKeyStrategy extends PassportStrategy(HeaderAPIKeyStrategy, 'headerapikey') {
  constructor() {
    super({ header: 'Authorization', prefix: 'Bearer ' }, false);
  }
  validate(apiKey: string): ApiKeyRecord | null {
    return records.get(hashApiKey(apiKey)) ?? null;
  }
}

@Module({
  imports: [keyringModule(), PassportModule],
  providers: [HeaderKeyStrategy],
  controllers: [MessagesController],
})
class BenchModule {}

/** A guard with no rules at all: one header compared with a Set. The floor of any key check. */
class RulelessGuard implements CanActivate {
  private readonly keys = new Set([`Bearer ${key}`]);
  canActivate(context: ExecutionContext): boolean {
    const { headers } = context.switchToHttp().getRequest<{ headers: Record<string, string> }>();
    return this.keys.has(headers.authorization);
  }
}

async function perCheck(guard: CanActivate, scoped: boolean): Promise<number> {
  const handler = MessagesController.prototype.list;
  // CPU time of this process (every thread, GC included), not wall time: other processes on the
  // machine then change the figure far less.
  const started = process.cpuUsage();
  for (let i = 0; i < ITERATIONS; i++) {
    const req = request();
    const context = new ExecutionContextHost([req, {}, () => undefined], MessagesController, handler);
    const check = () => guard.canActivate(context);
    const granted = await (scoped ? openTenantScope(req, check) : check());
    if (granted !== true) throw new Error('the guard refused the benchmark key');
  }
  const used = process.cpuUsage(started);
  return (used.user + used.system) / ITERATIONS;
}

const app = await NestFactory.create(BenchModule, { logger: false });
await app.init();
const guards = {
  noop: { canActivate: () => true } as CanActivate,
  ruleless: new RulelessGuard(),
  keyring: app.get(ApiKeyGuard),
  passport: new (AuthGuard('headerapikey'))() as CanActivate,
};
const samples: Record<keyof typeof guards, number[]> = { noop: [], ruleless: [], keyring: [], passport: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const name of Object.keys(guards) as (keyof typeof guards)[]) {
    // Every guard runs as in an app that imports ApiKeyModule: inside the request scope its
    // middleware opens where one is opened.
    samples[name].push(await perCheck(guards[name], SCOPED));
  }
}
await app.close();
const noop = median(samples.noop);
const over = (name: keyof typeof guards) => median(samples[name]) - noop;
const keyring = over('keyring');
const passport = over('passport');
const lines = [
  `Guard check in process, Node ${process.version}, ${ITERATIONS} checks × ${ROUNDS} rounds ` +
    '(median µs over a no-op guard):',
  `  ApiKeyGuard, cache hit, tenant on   ${keyring.toFixed(2)} µs`,
  `  passport-headerapikey (AuthGuard)   ${passport.toFixed(2)} µs`,
  `  rule-less hand-written guard        ${over('ruleless').toFixed(2)} µs`,
  `  target ≤ 1.0 µs: ${keyring <= 1 ? 'met' : 'missed'}; ` +
    `target ≤ half of passport (${(passport / 2).toFixed(2)} µs): ${keyring <= passport / 2 ? 'met' : 'missed'}`,
];
// MICRO_JSON=1 (bench/run.mjs): one JSON line for the runner instead of the text.
if (process.env.MICRO_JSON === '1') {
  console.log(
    JSON.stringify({
      node: process.version,
      iterations: ITERATIONS,
      rounds: ROUNDS,
      keyring,
      passport,
      scoped: SCOPED,
      ruleless: over('ruleless'),
    }),
  );
} else console.log(lines.join('\n'));
