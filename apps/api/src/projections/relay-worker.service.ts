import type { EventStore } from '@deals/event-store';
import { FencedReadModelStore, LeaderElection, type LeaderElectionStatus, type LeaseStore } from '@deals/leases';
import type { AppConfig, KafkaSettings } from '@deals/platform';
import type { ReadModelStore } from '@deals/read-models';
import { KafkaRelay, ReadModelRelayCheckpointStore, type KafkaRelayStatus } from '@deals/relay';
import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { APP_CONFIG, EVENT_STORE, LEASE_STORE, READ_MODEL_STORE } from '../infrastructure/tokens';
import { scrapedGauge } from './metrics';

/** Whether this process runs the Kafka relay (under the lease) when KAFKA_BROKERS is set. */
export const RUN_RELAY = Symbol('RunRelay');

/** The lease the relay app and an API running the relay in-process compete for: one per topic. */
export function relayLease(topic: string): string {
  return `relay-${topic}`;
}

export interface RelayWorkerStatus {
  readonly leadership: LeaderElectionStatus;
  readonly relay: KafkaRelayStatus;
}

/**
 * Runs the Kafka relay (libs/relay) while this process holds the `relay-<topic>` lease; stands by
 * otherwise. A new KafkaRelay each term, so a term starts from the stored checkpoint; it saves its
 * checkpoint through a FencedReadModelStore. Does nothing without KAFKA_BROKERS.
 */
@Injectable()
export class RelayWorkerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Relay');
  private readonly worker: { readonly election: LeaderElection; current: () => KafkaRelay } | undefined;

  constructor(
    @Inject(EVENT_STORE) eventStore: EventStore,
    @Inject(READ_MODEL_STORE) readModels: ReadModelStore,
    @Inject(LEASE_STORE) leases: LeaseStore,
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(RUN_RELAY) run: boolean,
    registry: Registry,
  ) {
    const settings: KafkaSettings | undefined = config.kafka;
    if (!run || settings === undefined) return;
    const { topic } = settings;
    const kafka = new Kafka({ clientId: 'deals-relay', brokers: [...settings.brokers], logLevel: logLevel.ERROR });
    const log = (message: string) => this.logger.warn(message);
    const newRelay = (store: ReadModelStore) => new KafkaRelay(eventStore, kafka, ReadModelRelayCheckpointStore.forTopic(store, topic), { topic, log });
    let relay = newRelay(readModels);
    const election: LeaderElection = new LeaderElection(
      leases,
      {
        start: () => {
          relay = newRelay(new FencedReadModelStore(readModels, election));
          relay.start();
          this.logger.log(`Relaying deal events to ${topic} on ${settings.brokers.join(',')}`);
        },
        // Graceful: sends the batch in hand and saves the checkpoint.
        stop: () => relay.stop(),
      },
      { name: relayLease(topic), ttlMs: config.leaseTtlMs, log: (message) => this.logger.log(message) },
    );
    this.worker = { election, current: () => relay };
    scrapedGauge(registry, 'deals_relay_events_published', 'Events the relay has published to the topic (its checkpoint)', ['topic'], async () => [[{ topic }, (await relay.status()).eventsPublished]]);
    scrapedGauge(registry, 'deals_relay_lag_events', 'Deal events in the store the broker has not acknowledged yet', ['topic'], async () => [[{ topic }, (await relay.status()).lagEvents]]);
    scrapedGauge(registry, 'deals_relay_lag_seconds', 'Age of the oldest deal event the broker has not acknowledged yet', ['topic'], async () => [[{ topic }, (await relay.status()).lagMs / 1000]]);
    scrapedGauge(registry, 'deals_relay_leader', 'Whether this process runs the relay (1) or stands by (0)', ['topic'], async () => [[{ topic }, election.role === 'leader' ? 1 : 0]]);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.worker?.election.start();
  }

  /** Graceful: the relay publishes the batch in hand and saves its checkpoint, then the lease goes to a standby. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.worker?.election.stop();
  }

  /** Undefined when this process does not run the relay. */
  async status(): Promise<RelayWorkerStatus | undefined> {
    if (this.worker === undefined) return undefined;
    return { leadership: this.worker.election.status(), relay: await this.worker.current().status() };
  }
}
