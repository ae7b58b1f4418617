import { Global, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { ProjectionStatusService } from './projection-status.service';

@Global()
@Module({
  controllers: [MetricsController],
  providers: [ProjectionStatusService],
  exports: [ProjectionStatusService],
})
export class ProjectionsModule {}
