// One run of the Kafka relay in a process of its own (so its peak resident memory is its own).
//   catch-up <events.sqlite> <brokers> <topic>: relays the whole data set from the first event; prints
//     events, seconds and CPU seconds once the broker acknowledged the last one.
//   producer <events.sqlite> <brokers> <topic>: the limit under the relay: the same messages, read and
//     built untimed, sent by kafkajs alone with the relay's producer settings, 500 per send; prints
//     events and the seconds spent in sends.
//   live <dir> <brokers> <topic> <events/s> <seconds>: appends one event per append to many deals at a
//     steady rate into a fresh embedded store in <dir> while the relay follows it, as a service that
//     relays its own appends would; prints how many events it appended once all were acknowledged.
import { join } from 'node:path';
import { batches, EmbeddedEventStore } from '@deals/event-store';
import { EmbeddedReadModelStore } from '@deals/read-models';
import { DealEventReader, dealStreamPrefix } from '@deals/deal-streams';
import { KafkaRelay, ReadModelRelayCheckpointStore, relayProducerConfig, toKafkaMessage } from '@deals/relay';
import { Kafka, logLevel } from 'kafkajs';
import { appendDealEvents, leadCaptured, negotiated } from '../../libs/relay/src/testing/relay-events';

/** Deals the live appends go round, so that no deal sees two appends at once. */
const liveDeals = 2_000;
const tickMs = 5;

async function relayUntil<T>(events: EmbeddedEventStore, dir: string, brokers: string, topic: string, work: (relay: KafkaRelay) => Promise<T>): Promise<T> {
  const readModels = EmbeddedReadModelStore.open(join(dir, 'relay-checkpoint.sqlite'));
  const kafka = new Kafka({ clientId: 'bench-relay', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const relay = new KafkaRelay(events, kafka, ReadModelRelayCheckpointStore.forTopic(readModels, topic), { topic });
  relay.start();
  try {
    return await work(relay);
  } finally {
    await relay.stop();
    await readModels.close();
  }
}

async function catchUp(eventsFile: string, dir: string, brokers: string, topic: string): Promise<void> {
  const events = EmbeddedEventStore.open({ path: eventsFile });
  let total = 0;
  for await (const event of events.readAll({ direction: 'backwards', maxCount: 1 })) total = Number(event.position.commit);
  // Timed from the first acknowledged batch, so the producer's connect does not count.
  const { events: timed, seconds, cpuSeconds } = await relayUntil(events, dir, brokers, topic, async (relay) => {
    await relay.waitForPublished(1, 60_000);
    const { eventsPublished } = await relay.status();
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    await relay.waitForPublished(total, 30 * 60_000);
    const cpu = process.cpuUsage(cpuBefore);
    return { events: total - eventsPublished, seconds: (performance.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  });
  await events.close();
  process.stdout.write(`${JSON.stringify({ events: timed, total, seconds, cpuSeconds, peakRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}

async function producerOnly(eventsFile: string, brokers: string, topic: string): Promise<void> {
  const events = EmbeddedEventStore.open({ path: eventsFile });
  const kafka = new Kafka({ clientId: 'bench-producer', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ ...relayProducerConfig, allowAutoTopicCreation: false });
  await producer.connect();
  const reader = new DealEventReader();
  let total = 0;
  let sending = 0;
  const cpu = { user: 0, system: 0 };
  for await (const batch of batches(events.readAll(), { size: 500, maxDelayMs: () => undefined })) {
    const messages = batch.filter((recorded) => recorded.streamId.startsWith(dealStreamPrefix)).map((recorded) => {
      const { key, value, headers } = toKafkaMessage(reader.read(recorded));
      return { key, value, headers };
    });
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    await producer.send({ topic, acks: -1, messages });
    const used = process.cpuUsage(cpuBefore);
    cpu.user += used.user;
    cpu.system += used.system;
    sending += performance.now() - started;
    total += messages.length;
  }
  await producer.disconnect();
  await events.close();
  process.stdout.write(`${JSON.stringify({ events: total, seconds: sending / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
}

async function live(dir: string, brokers: string, topic: string, rate: number, seconds: number): Promise<void> {
  const events = EmbeddedEventStore.open({ path: join(dir, 'events.sqlite') });
  const dealIds = Array.from({ length: liveDeals }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
  const revisions = new Array<number>(liveDeals).fill(0);
  const appended = await relayUntil(events, dir, brokers, topic, async (relay) => {
    // The first event waits for the producer to connect: send it before the clock starts.
    await appendDealEvents(events, dealIds[0]!, [leadCaptured(dealIds[0]!, new Date().toISOString())], 0);
    revisions[0] = 1;
    await relay.waitForPublished(1);
    let count = 1;
    const started = performance.now();
    for (;;) {
      const elapsed = performance.now() - started;
      if (elapsed >= seconds * 1000) break;
      // As many appends as the rate asks for by now, each to its own deal, all at once (as concurrent
      // commands would arrive); then the next tick.
      const due = 1 + Math.floor((elapsed / 1000) * rate) - count;
      const appends: Array<Promise<unknown>> = [];
      for (let i = 0; i < due; i += 1, count += 1) {
        const deal = count % liveDeals;
        const dealId = dealIds[deal]!;
        const revision = revisions[deal]!;
        revisions[deal] = revision + 1;
        const at = new Date().toISOString();
        appends.push(appendDealEvents(events, dealId, [revision === 0 ? leadCaptured(dealId, at) : negotiated(revision, at)], revision));
      }
      await Promise.all(appends);
      await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
    await relay.waitForPublished(count, 60_000);
    return count;
  });
  await events.close();
  process.stdout.write(`${JSON.stringify({ events: appended, peakRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}

async function main(): Promise<void> {
  const [mode, source, dir, brokers, topic, rate, seconds] = process.argv.slice(2);
  if (mode === 'catch-up' && source && dir && brokers && topic) return catchUp(source, dir, brokers, topic);
  if (mode === 'producer' && source && brokers && topic) return producerOnly(source, brokers, topic);
  if (mode === 'live' && dir && brokers && topic && Number(rate) > 0 && Number(seconds) > 0) return live(dir, brokers, topic, Number(rate), Number(seconds));
  throw new Error(
    'usage: relay-worker catch-up|producer <events.sqlite> <dir> <brokers> <topic> | live - <dir> <brokers> <topic> <events/s> <seconds>',
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
