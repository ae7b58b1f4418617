/**
 * The kill test's child: runs a KafkaRelay over an embedded event store and read-model store until the
 * parent SIGKILLs it. Between the broker's acknowledgement and the checkpoint it prints
 * `acked <events published in all>` and waits a little, so that a kill lands there often: the window
 * where at-least-once republishes.
 *
 * Usage: node --require scripts/register-ts.js relay-child.ts <events.sqlite> <read-models.sqlite> <topic> <brokers>
 */
import { EmbeddedEventStore } from '@deals/event-store';
import { EmbeddedReadModelStore } from '@deals/read-models';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaRelay } from '../kafka-relay';
import { ReadModelRelayCheckpointStore, type RelayCheckpoint, type RelayCheckpointStore } from '../relay-checkpoint-store';

const [eventsFile, readModelsFile, topic, brokers] = process.argv.slice(2);
if (eventsFile === undefined || readModelsFile === undefined || topic === undefined || brokers === undefined) {
  throw new Error('Usage: relay-child.ts <events.sqlite> <read-models.sqlite> <topic> <brokers>');
}
/** Ends an orphan if the parent died before killing it. */
setTimeout(() => process.exit(2), 30_000).unref();

const events = EmbeddedEventStore.open({ path: eventsFile, pollIntervalMs: 20 });
const checkpoints = ReadModelRelayCheckpointStore.forTopic(EmbeddedReadModelStore.open(readModelsFile), topic);
const slow: RelayCheckpointStore = {
  load: () => checkpoints.load(),
  save: async (checkpoint: RelayCheckpoint) => {
    process.stdout.write(`acked ${checkpoint.eventsProcessed}\n`);
    await new Promise((resolve) => setTimeout(resolve, 25));
    await checkpoints.save(checkpoint);
  },
};
const kafka = new Kafka({ clientId: 'relay-child', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
const relay = new KafkaRelay(events, kafka, slow, { topic, batchSize: 50, log: (message) => process.stderr.write(`${message}\n`) });
relay.start();
