import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  InjectKeyring,
  Keyring,
  KEYRING_CHANNELS,
  type LookupMessage,
  type RefusedMessage,
  type StoreFaultMessage,
  type WebhookRefusedMessage,
} from 'nest-keyring';

/**
 * Prometheus metrics fed by nest-keyring's diagnostics channels. Labels are reasons, codes and
 * outcomes only: a small, fixed set of values, and never a key, a key id or a tenant.
 *
 * Each message is counted synchronously as it is published, before the response is sent: a
 * client that was just refused sees its refusal counted on its next scrape.
 */
@Injectable()
export class KeyringMetrics {
  readonly registry = new Registry();

  constructor(@InjectKeyring() private readonly keyring: Keyring) {}

  // Read at each scrape: how full the key cache is, and whether it is too small for the keys in use.
  private readonly cacheKeys: Gauge = new Gauge({
    name: 'nest_keyring_cache_keys',
    help: 'Keys the lookup cache holds now (known and unknown).',
    registers: [this.registry],
    collect: () => this.cacheKeys.set(this.keyring.cacheSize),
  });

  private readonly cacheEvictions: Gauge = new Gauge({
    name: 'nest_keyring_cache_evictions',
    help: 'Keys still in use the cache dropped for room since start-up: above 0, raise cache.maxEntries.',
    registers: [this.registry],
    collect: () => this.cacheEvictions.set(this.keyring.cacheEvictions),
  });

  private readonly admitted = new Counter({
    name: 'nest_keyring_requests_admitted_total',
    help: 'Requests whose API key was admitted.',
    registers: [this.registry],
  });

  private readonly refused = new Counter({
    name: 'nest_keyring_requests_refused_total',
    help: 'Requests refused, by reason (missing, invalid, tenant_not_found...) and the error code answered.',
    labelNames: ['reason', 'code', 'status'] as const,
    registers: [this.registry],
  });

  private readonly storeFaults = new Counter({
    name: 'nest_keyring_store_faults_total',
    help: 'Key store calls that threw or timed out (answered 503).',
    labelNames: ['timed_out'] as const,
    registers: [this.registry],
  });

  private readonly lookups = new Counter({
    name: 'nest_keyring_key_lookups_total',
    help: 'Keys looked up, by who answered (cache or store) and the outcome (found, unknown, fault).',
    labelNames: ['source', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly lookupSeconds = new Histogram({
    name: 'nest_keyring_store_lookup_duration_seconds',
    help: 'How long the key store took to answer a lookup.',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  private readonly webhooks = new Counter({
    name: 'nest_keyring_webhooks_total',
    help: 'Webhooks checked, by outcome (verified, refused) and reason of a refusal.',
    labelNames: ['outcome', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly listeners: [string, (message: unknown) => void][] = [
    [KEYRING_CHANNELS.admitted, () => this.admitted.inc()],
    [KEYRING_CHANNELS.refused, (message) => this.onRefused(message as RefusedMessage)],
    [KEYRING_CHANNELS.storeFault, (message) => this.onStoreFault(message as StoreFaultMessage)],
    [KEYRING_CHANNELS.lookup, (message) => this.onLookup(message as LookupMessage)],
    [KEYRING_CHANNELS.webhookVerified, () => this.webhooks.inc({ outcome: 'verified', reason: '' })],
    [KEYRING_CHANNELS.webhookRefused, (message) => this.onWebhookRefused(message as WebhookRefusedMessage)],
  ];

  /** Starts counting. */
  subscribe(): void {
    for (const [name, listener] of this.listeners) subscribe(name, listener);
  }

  /** Stops counting (on shutdown, or a second app in the same process would count twice). */
  unsubscribe(): void {
    for (const [name, listener] of this.listeners) unsubscribe(name, listener);
  }

  private onRefused({ reason, code, status }: RefusedMessage): void {
    this.refused.inc({ reason, code: code ?? '', status: String(status) });
  }

  private onStoreFault({ timedOut }: StoreFaultMessage): void {
    this.storeFaults.inc({ timed_out: String(timedOut) });
  }

  private onLookup({ cached, outcome, durationMs }: LookupMessage): void {
    this.lookups.inc({ source: cached ? 'cache' : 'store', outcome });
    if (!cached) this.lookupSeconds.observe({ outcome }, durationMs / 1000);
  }

  private onWebhookRefused({ reason }: WebhookRefusedMessage): void {
    this.webhooks.inc({ outcome: 'refused', reason });
  }
}
