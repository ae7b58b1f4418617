import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { GetCycleLengthController } from './get-cycle-length/get-cycle-length.controller';
import { GetCycleLengthHandler } from './get-cycle-length/get-cycle-length.query';

/** GET /analytics/cycle-length. The projection itself runs with the others (projections module). */
@Module({
  imports: [CqrsModule],
  controllers: [GetCycleLengthController],
  providers: [GetCycleLengthHandler],
})
export class AnalyticsModule {}
