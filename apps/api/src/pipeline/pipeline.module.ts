import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { GetPipelineController } from './get-pipeline/get-pipeline.controller';
import { GetPipelineHandler } from './get-pipeline/get-pipeline.query';

@Module({
  imports: [CqrsModule],
  controllers: [GetPipelineController],
  providers: [GetPipelineHandler],
})
export class PipelineModule {}
