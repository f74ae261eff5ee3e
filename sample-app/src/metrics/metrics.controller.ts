import { Controller, Get, Header } from '@nestjs/common';
import { Public } from 'nest-keyring';
import { Registry } from 'prom-client';
import { KeyringMetrics } from './keyring-metrics.js';

/** Prometheus scrapes `/metrics` without a key (`@Public()`); it shows counts, never key material. */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: KeyringMetrics) {}

  @Public()
  @Get()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
