import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { CaptureLeadController } from './capture-lead/capture-lead.controller';
import { CloseDealController } from './close-deal/close-deal.controller';
import { DealRepository } from './deal-repository';
import { ExecuteDealCommandHandler } from './execute-deal-command';
import { GetDealController } from './get-deal/get-deal.controller';
import { GetDealHandler } from './get-deal/get-deal.query';
import { GetDealHistoryController } from './get-deal-history/get-deal-history.controller';
import { GetDealHistoryHandler } from './get-deal-history/get-deal-history.query';
import { NegotiateDealController } from './negotiate-deal/negotiate-deal.controller';
import { QualifyDealController } from './qualify-deal/qualify-deal.controller';
import { RecordFollowUpController } from './record-follow-up/record-follow-up.controller';
import { SendProposalController } from './send-proposal/send-proposal.controller';
import { DealCommandDispatcher } from './shared/deal-command-dispatcher';

@Module({
  imports: [CqrsModule],
  controllers: [
    CaptureLeadController,
    QualifyDealController,
    SendProposalController,
    NegotiateDealController,
    CloseDealController,
    RecordFollowUpController,
    GetDealController,
    GetDealHistoryController,
  ],
  providers: [DealRepository, DealCommandDispatcher, ExecuteDealCommandHandler, GetDealHandler, GetDealHistoryHandler],
  exports: [DealRepository],
})
export class DealsModule {}
