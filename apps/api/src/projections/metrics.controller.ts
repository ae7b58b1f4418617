import type { ProjectionStatus } from '@deals/projections';
import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { Public } from '../auth/roles';
import { ProjectionStatusService } from './projection-status.service';

const projectionGauges: ReadonlyArray<[name: string, help: string, value: (status: ProjectionStatus) => number]> = [
  ['deals_projection_lag_events', 'Events in the store the projection has not processed yet', (s) => s.lagEvents],
  ['deals_projection_lag_seconds', 'Age of the oldest event the projection has not processed yet', (s) => s.lagMs / 1000],
  ['deals_projection_events_processed', 'Events the projection has processed since it was last rebuilt', (s) => s.eventsProcessed],
];

/** Prometheus metrics: process health and how far each projection is behind the event store. */
@ApiTags('operations')
@Controller('metrics')
@Public()
export class MetricsController {
  private readonly registry = new Registry();

  constructor(projections: ProjectionStatusService) {
    collectDefaultMetrics({ register: this.registry });
    for (const [name, help, value] of projectionGauges) {
      new Gauge({
        name,
        help,
        labelNames: ['projection'],
        registers: [this.registry],
        // Read at scrape time, so the numbers are never older than the scrape.
        async collect() {
          for (const status of await projections.statuses()) this.set({ projection: status.projection }, value(status));
        },
      });
    }
  }

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)' })
  @ApiOkResponse({ description: 'Metrics' })
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
