import { Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { KeyringMetrics } from './keyring-metrics.js';
import { MetricsController } from './metrics.controller.js';

/** `/metrics` for Prometheus, fed by nest-keyring's diagnostics channels (see docs/observability.md). */
@Module({
  controllers: [MetricsController],
  providers: [KeyringMetrics],
})
export class MetricsModule implements OnModuleInit, OnModuleDestroy {
  constructor(private readonly metrics: KeyringMetrics) {}

  onModuleInit(): void {
    this.metrics.subscribe();
  }

  onModuleDestroy(): void {
    this.metrics.unsubscribe();
  }
}
