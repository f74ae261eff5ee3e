import type { ApiKeyRecord, Tenant } from './keys/api-key-record.js';
import { createApiKeyParser, type ApiKeyParser } from './keys/api-key-format.js';
import { clientOf } from './lookup/client-address.js';
import { extractApiKey, isWellFormedKey, isWithinLengthBound } from './admission/credentials.js';
import { lookupStarted, observedLookup } from './admission/decision-events.js';
import { createErrorResponder, type ErrorResponse } from './refusals/error-format.js';
import type { KeyringFailure } from './refusals/failure.js';
import { FormatRuleLog } from './refusals/format-rule-log.js';
import { ConnectionRegistry } from './fleet/connection-registry.js';
import { readHeader, repeatedHeader, type RequestHeaders } from './admission/headers.js';
import { hasValidChecksum } from './keys/api-key-checksum.js';
import { invalidationKeyHash } from './fleet/invalidation-bus.js';
import { createSignatureCheck, type SignatureCheck } from './keys/key-signature.js';
import { consoleWarningLogger, InvalidationRelay, type KeyringWarningLogger } from './fleet/invalidation-relay.js';
import { resolveKeyringOptions, type KeyringOptions, type ResolvedKeyringOptions } from './options/keyring-options.js';
import { callStore, findRecord, type StoreResult } from './lookup/lookup.js';
import { LookupCache } from './lookup/lookup-cache.js';
import { isPending, then, type MaybePromise } from './maybe-async.js';
import { checkExpiry, checkScopes, judgeAnswer, verdictRecordId, type KeyVerdict } from './keys/record-check.js';
import { tenantSnapshot } from './keys/record-snapshot.js';
import type { RateLimitStatus } from './limits/rate-limit-status.js';
import { RateLimiter, type RateLimitDecision } from './limits/rate-limiter.js';
import { admissionOf } from './admission/request-admission.js';
import { fail, type Result } from './result.js';
import { chooseTenant, isTenantList, type TenantChoice } from './tenants/tenant-selection.js';
import { UnknownKeyBudget } from './lookup/unknown-key-budget.js';
import { UsageRecorder } from './keys/key-usage.js';
import { KeyringWebhooks } from './webhooks/keyring-webhooks.js';

/** The outcome of authenticating a request: the key's record, or the refusal. Never holds the key. */
export type AuthenticationResult = Result<{ record: ApiKeyRecord }>;

/**
 * A request admitted by `admit`: its key's record and, with `tenancy` on, its tenant; where a
 * rate limit applies, where the request stands against it (`rateLimit`, for the `RateLimit`
 * headers of the response). `warning` is a line to log once: the rate-limit store failed and
 * requests are let through without a limit.
 */
export type AdmissionResult = Result<{
  record: ApiKeyRecord;
  tenant: Tenant | undefined;
  rateLimit?: RateLimitStatus;
  warning?: string;
}>;

/** What `tenantFor` answers: the tenant to run as (`undefined` with `tenancy` off), or a refusal. */
export type TenantForResult = Result<{ tenant: Tenant | undefined }>;

/** What the host gives a `Keyring` besides its options. */
export interface KeyringRuntime {
  /** Where a cache too small for the keys in use, and an invalidation bus's outages, are reported. @default console */
  logger?: KeyringWarningLogger;
}

/** What adapters have put on a request so far. */
export interface AdmittedFields {
  /** The authenticated key's record (with `environment` filled from the key's prefix). */
  apiKey?: ApiKeyRecord;
  /** The tenant the request acts for (with `tenancy` on). */
  tenant?: Tenant;
}

/**
 * Every decision nest-keyring makes, behind one object that adapters (the Nest guard, the
 * Express middleware) call with what they read off a request. Build one per app and share it:
 * it holds the configuration and the lookup cache. In Nest, `ApiKeyModule` builds it; inject
 * it with `@InjectKeyring()`.
 *
 * Decisions (`authenticate`, `admit`, `tenantFor`, `selectTenant`) answer a `Result`, at once
 * when nothing has to be awaited (a refused header, a key the cache holds) and as a `Promise`
 * only when a store is asked (`MaybePromise`). `await` works on both.
 *
 * @example
 * const keyring = new Keyring({ lookup: lookupByHash(findByHash) });
 * app.use('/api', apiKeyMiddleware(keyring), tenantMiddleware(keyring));
 * // after revoking a key in the store:
 * keyring.invalidateRecord(keyId);
 */
export class Keyring {
  readonly options: ResolvedKeyringOptions;
  /**
   * The connections (WebSockets) open with this keyring's keys: the socket adapters register
   * theirs, and the invalidate methods check them again (see `ConnectionRegistry`).
   */
  readonly connections = new ConnectionRegistry(this);
  /** The webhook senders `webhookSecrets` configures, and the check of a delivery (see `KeyringWebhooks`). */
  readonly webhooks: KeyringWebhooks;
  private readonly parseKey: ApiKeyParser | undefined;
  private readonly acceptedEnvironments: ReadonlySet<string>;
  private readonly respond: (failure: KeyringFailure) => ErrorResponse;
  private readonly formatRules = new FormatRuleLog();
  private readonly cache: LookupCache<KeyVerdict> | undefined;
  private readonly unknownKeys: UnknownKeyBudget | undefined;
  private readonly usage: UsageRecorder | undefined;
  private readonly relay: InvalidationRelay | undefined;
  private readonly rateLimiter: RateLimiter | undefined;
  private readonly checkSignature: SignatureCheck | undefined;
  // Headers whose repetition makes a request ambiguous: the key headers, and the tenant header.
  private readonly credentialHeaders: readonly string[];

  /** @throws KeyringConfigError for options that cannot work */
  constructor(options: KeyringOptions, runtime: KeyringRuntime = {}) {
    const resolved = (this.options = resolveKeyringOptions(options));
    const { keyPrefixes, cache, unknownKeyLookups, headers, invalidationBus, signingSecrets } = resolved;
    this.webhooks = new KeyringWebhooks(resolved.webhookSecrets, resolved.webhookRawBody, this);
    this.parseKey = keyPrefixes === false ? undefined : createApiKeyParser(keyPrefixes);
    this.acceptedEnvironments = new Set(resolved.environments);
    this.respond = createErrorResponder(resolved.errorFormat, resolved.realm, headers);
    const logger = runtime.logger ?? consoleWarningLogger;
    const shared = invalidationBus !== undefined;
    this.cache =
      cache === false
        ? undefined
        : new LookupCache<KeyVerdict>(cache, verdictRecordId, Date.now, shared, (line) => logger.warn(line));
    // The options check refuses a bus without a cache.
    this.relay =
      invalidationBus === undefined || this.cache === undefined
        ? undefined
        : new InvalidationRelay(invalidationBus, this.cache, resolved.ttlWhileDisconnectedMs, logger, this.connections);
    this.unknownKeys = unknownKeyLookups === false ? undefined : new UnknownKeyBudget(unknownKeyLookups);
    this.credentialHeaders = resolved.tenancy ? [...headers, resolved.tenantHeader] : headers;
    this.usage = resolved.usage === undefined ? undefined : new UsageRecorder(resolved.usage);
    this.rateLimiter = resolved.rateLimit === false ? undefined : new RateLimiter(resolved.rateLimit);
    this.checkSignature =
      signingSecrets.length === 0 ? undefined : createSignatureCheck(signingSecrets, resolved.acceptUnsignedKeys);
  }

  /**
   * Reads the key from the headers, checks its form, signature (with `signingSecrets`), checksum
   * and environment, asks the lookup (through the cache) and checks the record. Malformed keys,
   * keys with a bad signature or checksum and keys of an unaccepted environment never reach the lookup.
   *
   * Answers synchronously when nothing has to be awaited (a refused header, or a key the cache
   * holds); a `Promise` only when the store is asked.
   *
   * @param rawHeaders the request's header lines as Node received them (`request.rawHeaders`):
   *   a credential header sent on two lines is refused as malformed, since Node keeps only one
   * @param clientAddress the address the request came from (`request.socket.remoteAddress`): the
   *   budget of unknown keys is kept per client (see `unknownKeyLookups`, `trustedProxies`)
   *
   * @example
   * const result = await keyring.authenticate(req.headers, req.rawHeaders, req.socket.remoteAddress);
   * if (result.ok) console.log(result.record.id);
   */
  authenticate(
    headers: RequestHeaders,
    rawHeaders?: readonly string[],
    clientAddress?: string,
  ): MaybePromise<AuthenticationResult> {
    if (repeatedHeader(rawHeaders, this.credentialHeaders) !== undefined) return fail('malformed');
    const credential = extractApiKey(headers, this.options.headers, isWithinLengthBound);
    if (!credential.ok) return credential;
    const { key } = credential;
    const cache = this.cache;
    const id = cache?.idOf(key);
    // A key the cache holds: decided now, with no closure, no promise and nothing allocated.
    const held = id === undefined ? undefined : cache?.get(id);
    if (held !== undefined) return checkExpiry(held, Date.now());
    // The rest runs only for a key the cache does not hold (one it holds passed it): the token
    // alphabet, the tag (with `signingSecrets`), the checksum (unless `requireChecksum` is off)
    // and an environment prefix this deployment accepts (unless `keyPrefixes` is off). A forged
    // key is refused in memory: it takes no place in the cache, spends no budget and never
    // reaches the store.
    if (!isWellFormedKey(key)) return fail('malformed');
    const unsigned = this.checkSignature?.(key);
    if (unsigned !== undefined) return unsigned;
    if (this.options.requireChecksum && !hasValidChecksum(key)) {
      return fail('invalid', { detail: 'its checksum does not match' });
    }
    const parsed = this.parseKey?.(key);
    if (parsed === null) return fail('invalid', { detail: 'it has no known environment prefix' });
    if (parsed !== undefined && !this.acceptedEnvironments.has(parsed.environment)) return fail('wrong_environment');
    // Looked up once however many ask at once when there is a cache; published on
    // `nest-keyring:lookup` when someone listens (`lookupStarted` reads no clock otherwise).
    const load = () =>
      observedLookup(lookupStarted(), this.lookUp(key, parsed?.environment, headers, clientAddress), verdictRecordId);
    const found = cache === undefined ? load() : cache.find(key, load, id);
    return then(found, (answer): AuthenticationResult => (answer.ok ? checkExpiry(answer.value, Date.now()) : answer));
  }

  /**
   * Asks the store about a key the cache does not hold, unless the client's unknown keys have
   * spent its budget, and judges the answer once (the cache keeps the verdict, a frozen snapshot).
   */
  private lookUp(
    key: string,
    environment: string | undefined,
    headers: RequestHeaders,
    clientAddress: string | undefined,
  ): Promise<StoreResult<KeyVerdict>> {
    const budget = this.unknownKeys;
    const client = budget === undefined ? '' : clientOf(clientAddress, headers, this.options.trustedProxies);
    const throttled = budget?.refusal(client);
    if (throttled !== undefined) return Promise.resolve(throttled);
    return findRecord(this.options.lookup, key, this.options.lookupTimeoutMs).then((found): StoreResult<KeyVerdict> => {
      if (!found.ok) return found;
      const verdict = judgeAnswer(found.value, environment);
      if (verdictRecordId(verdict) === undefined) budget?.chargeUnknown(client);
      return { ok: true, value: verdict };
    });
  }

  /**
   * Everything a request needs before its handler: the key (`authenticate`), its record with
   * `environment` filled from the prefix when the record has none, and, with `tenancy` on, the
   * tenant (`selectTenant`); then the request is counted against the key's rate limit, if one
   * applies (a request over it is refused `rate_limited`). The Nest guard and the Express
   * middleware both call this, once per request. Synchronous unless a store has to be asked
   * (see `authenticate`; a rate-limit store that answers with a promise).
   *
   * @param clientAddress the client's address (`request.socket.remoteAddress`), where the transport has it
   *
   * @example
   * const admission = await keyring.admit(req.headers, req.rawHeaders, req.socket.remoteAddress);
   * if (!admission.ok) return res.status(keyring.errorResponse(admission.failure).status).end();
   * console.log(admission.record.id, admission.tenant?.id);
   */
  admit(
    headers: RequestHeaders,
    rawHeaders?: readonly string[],
    clientAddress?: string,
  ): MaybePromise<AdmissionResult> {
    const authenticated = this.authenticate(headers, rawHeaders, clientAddress);
    if (isPending(authenticated)) return authenticated.then((result) => this.admitAuthenticated(result, headers));
    return this.admitAuthenticated(authenticated, headers);
  }

  private admitAuthenticated(
    authenticated: AuthenticationResult,
    headers: RequestHeaders,
  ): MaybePromise<AdmissionResult> {
    if (!authenticated.ok) return authenticated;
    const { record } = authenticated;
    if (!this.options.tenancy) return this.countRequest(record, undefined);
    const choice = this.selectTenant(record, headers);
    if (isPending(choice))
      return choice.then((chosen) => (chosen.ok ? this.countRequest(record, chosen.tenant) : chosen));
    return choice.ok ? this.countRequest(record, choice.tenant) : choice;
  }

  /**
   * Counts an admitted request, or one more unit of its work (a GraphQL root field), against its
   * key's rate limit: last in `admit`, so a refused key is never counted. A request let in is a
   * use of its key (`usage`), with its rate-limit status where a limit applies.
   */
  countRequest(record: ApiKeyRecord, tenant: Tenant | undefined): MaybePromise<AdmissionResult> {
    const limiter = this.rateLimiter;
    // No limit for this key: nothing more to do, no closure, no store call.
    if (limiter === undefined || !limiter.applies(record)) {
      this.usage?.record(record.id);
      return { ok: true, record, tenant };
    }
    // A store that answers at once (in memory) is judged now, with no closure.
    const decision = limiter.check(record, tenant);
    if (isPending(decision)) return decision.then((settled) => this.limited(record, tenant, settled));
    return this.limited(record, tenant, decision);
  }

  private limited(record: ApiKeyRecord, tenant: Tenant | undefined, decision: RateLimitDecision): AdmissionResult {
    if (!decision.ok) return decision;
    this.usage?.record(record.id);
    return { ok: true, record, tenant, rateLimit: decision.status, warning: decision.warning };
  }

  /**
   * The tenant to run a request's handler as, for the tenant interceptor and middleware: the one
   * `ApiKeyGuard` or `apiKeyMiddleware` chose (never replaced), else one chosen now from the
   * record another mechanism put on `request.apiKey`. No record: `missing`. `undefined` with
   * `tenancy` off. Synchronous unless `resolveTenants` has to be awaited.
   *
   * @example
   * const choice = await keyring.tenantFor(req, req.headers);
   * if (choice.ok && choice.tenant !== undefined) tenants.run(choice.tenant, next);
   */
  tenantFor(request: AdmittedFields, headers: RequestHeaders): MaybePromise<TenantForResult> {
    const admitted = admissionOf(request);
    if (admitted !== undefined) return { ok: true, tenant: admitted.tenant };
    if (request.apiKey === undefined) return fail('missing');
    if (!this.options.tenancy) return { ok: true, tenant: undefined };
    return this.selectTenant(request.apiKey, headers);
  }

  /**
   * Picks the tenant for an authenticated record from the tenant header (see `chooseTenant`).
   * Tenants come from the record, or from `resolveTenants` when the record has no `tenants`;
   * synchronous when the record carries its tenants.
   *
   * @example
   * const choice = await keyring.selectTenant(record, { 'x-tenant-id': '42' });
   */
  selectTenant(record: ApiKeyRecord, headers: RequestHeaders): MaybePromise<TenantChoice> {
    const { resolveTenants, lookupTimeoutMs } = this.options;
    const requested = readHeader(headers, this.options.tenantHeader);
    if (record.tenants !== undefined || !resolveTenants) return chooseTenant(record.tenants ?? [], requested);
    return callStore(() => resolveTenants(record), lookupTimeoutMs, 'resolveTenants').then((resolved): TenantChoice => {
      if (!resolved.ok) return resolved;
      if (!isTenantList(resolved.value)) {
        return fail('lookup_unavailable', {
          cause: new TypeError('resolveTenants returned something other than a list of { id } tenants'),
        });
      }
      // Not cached, and maybe the resolver's own objects: the request gets a frozen copy.
      const choice = chooseTenant(resolved.value, requested);
      return choice.ok ? { ok: true, tenant: tenantSnapshot(choice.tenant) } : choice;
    });
  }

  /**
   * Forgets a cached key at once: the next request with it asks the store, and its open
   * connections are checked again (closed if it is refused now). With an `invalidationBus`,
   * every other replica does the same (told by a hash of the key, never the key).
   */
  invalidateKey(key: string): void {
    const keyHash = invalidationKeyHash(key);
    this.cache?.invalidateKey(key);
    this.connections.recheckKeyHash(keyHash);
    this.relay?.publish({ type: 'key', keyHash });
  }

  /**
   * Forgets every cached key of a record (e.g. right after revoking it in the store), and checks
   * its open connections again (closed if it is refused now). With an `invalidationBus`, every
   * other replica does the same.
   */
  invalidateRecord(recordId: string | number): void {
    this.cache?.invalidateRecord(recordId);
    this.connections.recheckRecord(recordId);
    this.relay?.publish({ type: 'record', recordId: String(recordId) });
  }

  /**
   * Hands the last-used times noted so far to `usage.onUsed` now (after a batch under way), and
   * resolves when that is done or given up (`usage.timeoutMs`). Never rejects; does nothing
   * without `usage`. `ApiKeyModule` calls it on shutdown; a plain Express app calls it itself.
   *
   * @example
   * process.on('SIGTERM', () => server.close(() => void keyring.flushUsage().then(() => process.exit(0))));
   */
  flushUsage(): Promise<void> {
    return this.usage?.flush() ?? Promise.resolve();
  }

  /**
   * Forgets every cached lookup answer and checks every open connection again, in every replica
   * with an `invalidationBus`.
   */
  clearCache(): void {
    this.cache?.clear();
    this.connections.recheckAll();
    this.relay?.publish({ type: 'all' });
  }

  /**
   * Stops listening to the `invalidationBus` (the bus itself stays open: close it with its own
   * `close()`; `ApiKeyModule` does both when the app shuts down). Safe to call twice.
   */
  close(): void {
    this.relay?.close();
  }

  /** Keys the cache holds now (0 with the cache off). */
  get cacheSize(): number {
    return this.cache?.size ?? 0;
  }

  /** Keys the cache dropped for room while still in use: above 0, `cache.maxEntries` is too small. */
  get cacheEvictions(): number {
    return this.cache?.evictions ?? 0;
  }

  /** The failure to answer when `record` lacks one of `required`, else `undefined`. */
  checkScopes(record: ApiKeyRecord, required: readonly string[]): KeyringFailure | undefined {
    return checkScopes(record, required);
  }

  /** Status, body and headers (`WWW-Authenticate`) for a refusal, in the configured format. */
  errorResponse(failure: KeyringFailure): ErrorResponse {
    return this.respond(failure);
  }

  /**
   * The debug line for a key the format rules refused (which rule, never the key): one per rule
   * every ten seconds, with how many it refused since; `undefined` for other refusals and between.
   */
  formatRuleLine(failure: KeyringFailure): string | undefined {
    return this.formatRules.lineFor(failure);
  }
}
