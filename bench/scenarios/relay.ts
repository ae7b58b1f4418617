// Kafka relay to the local broker (KAFKA_BROKERS, default 127.0.0.1:9092), a fresh topic per run:
// throughput while it catches up with the whole data set, and the delay from append to a consumer
// while appends arrive at a steady rate.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromKafkaMessage } from '@deals/relay';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { type Figure, notRun, runWorker, type Scenario, summarize } from '../harness';
import { atLeast, p99AtMost, type Target } from '../targets';

const scenario = 'Kafka relay';
const partitions = 3;
/** Appends per second in the latency run: a busy service's steady load, well under the relay's capacity. */
const liveRate = 2_000;

// Issue #5: at least 20k events/s to the local broker, p99 from append to consumer at most 500 ms.
const catchUpTarget = (rate: number): Target => ({ goal: '≥ 20k events/s', bounds: [atLeast('rate', 'events/s', rate, 20_000)] });
const delayTarget = (p99Ms: number): Target => ({ goal: 'p99 append→consumer ≤ 500 ms', bounds: [p99AtMost(p99Ms, 500)] });

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function connectAdmin(kafka: Kafka): Promise<Admin | undefined> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return admin;
  } catch {
    await admin.disconnect().catch(() => undefined);
    return undefined;
  }
}

/**
 * Receives every message of the topic from its start, with `appending` started once the consumer has
 * joined its group; each delay is receipt minus the envelope's recordedAt.
 */
async function measureDelays(kafka: Kafka, topic: string, appending: () => Promise<number>): Promise<number[]> {
  const consumer = kafka.consumer({ groupId: `bench-${randomUUID()}`, maxWaitTimeInMs: 10 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    const delays: number[] = [];
    let expected = Infinity;
    let allArrived = () => {};
    const arrived = new Promise<void>((resolve) => (allArrived = resolve));
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const now = Date.now();
        for (const message of batch.messages) delays.push(now - Date.parse(fromKafkaMessage(message).recordedAt));
        if (delays.length >= expected) allArrived();
      },
    });
    await joined;
    expected = await appending();
    if (delays.length < expected) await arrived;
    return delays;
  } finally {
    await consumer.disconnect();
  }
}

export const relayScenario: Scenario = {
  name: 'relay',
  growth: 'time',
  async run({ eventsFile, runs, smoke, log }): Promise<Figure[]> {
    const brokers = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092';
    const kafka = new Kafka({ clientId: 'bench-relay', brokers: brokers.split(','), logLevel: logLevel.NOTHING, connectionTimeout: 3_000, retry: { retries: 2 } });
    const admin = await connectAdmin(kafka);
    if (!admin) {
      const reason = `no Kafka broker at ${brokers}`;
      return [
        notRun(scenario, 'catch-up, whole data set', 'events/s', reason, catchUpTarget(NaN)),
        notRun(scenario, 'limit: kafkajs producer alone', 'events/s', reason),
        notRun(scenario, `live, ${liveRate} appends/s`, 'ms append→consumer (p99)', reason, delayTarget(NaN)),
      ];
    }
    const withTopic = async <T>(work: (topic: string, dir: string) => Promise<T>): Promise<T> => {
      const topic = `bench-relay-${randomUUID()}`;
      const dir = mkdtempSync(join(tmpdir(), 'bench-relay-'));
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
      try {
        return await work(topic, dir);
      } finally {
        await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      }
    };
    try {
      const rates: number[] = [];
      const rss: number[] = [];
      const cpuPerEvent: number[] = [];
      let events = 0;
      for (let run = 0; run < runs; run++) {
        const output = await withTopic(async (topic, dir) =>
          JSON.parse(await runWorker('scenarios/relay-worker.ts', ['catch-up', eventsFile, dir, brokers, topic])) as {
            events: number;
            total: number;
            seconds: number;
            cpuSeconds: number;
            peakRssBytes: number;
          },
        );
        events = output.total;
        rates.push(output.events / output.seconds);
        cpuPerEvent.push((output.cpuSeconds * 1e6) / output.events);
        rss.push(output.peakRssBytes / 1024 / 1024);
        log(`  catch-up: ${output.events} events in ${output.seconds.toFixed(1)} s, ${output.cpuSeconds.toFixed(1)} s of CPU`);
      }
      const limits: number[] = [];
      for (let run = 0; run < runs; run++) {
        const output = await withTopic(async (topic, dir) =>
          JSON.parse(await runWorker('scenarios/relay-worker.ts', ['producer', eventsFile, dir, brokers, topic])) as { events: number; seconds: number },
        );
        limits.push(output.events / output.seconds);
      }
      const limit: Figure = {
        scenario,
        variant: 'limit: kafkajs producer alone',
        unit: 'events/s',
        ...summarize(limits),
        note: 'the same messages and producer settings, 500 per send, build untimed: what kafkajs and the broker manage',
      };
      const rate = summarize(rates);
      const catchUp: Figure = {
        scenario,
        variant: 'catch-up, whole data set',
        unit: 'events/s',
        ...rate,
        peakRssMb: Math.max(...rss),
        ratio: `${Math.round((100 * rate.median) / limit.median)}% of the limit`,
        note: `${events.toLocaleString('en-US')} events (timed from the first ack), ${Math.round(summarize(cpuPerEvent).median)} µs CPU/event; acks=all, idempotent, ${partitions} partitions; no baseline`,
        target: catchUpTarget(rate.median),
      };

      const seconds = smoke ? 3 : 20;
      const p50s: number[] = [];
      const p99s: number[] = [];
      for (let run = 0; run < runs; run++) {
        const delays = await withTopic(async (topic, dir) => {
          const appending = async () =>
            (JSON.parse(await runWorker('scenarios/relay-worker.ts', ['live', '-', dir, brokers, topic, String(liveRate), String(seconds)])) as { events: number }).events;
          return measureDelays(kafka, topic, appending);
        });
        const sorted = delays.sort((a, b) => a - b);
        p50s.push(percentile(sorted, 50));
        p99s.push(percentile(sorted, 99));
        log(`  live: ${sorted.length} events, p50 ${p50s.at(-1)} ms, p99 ${p99s.at(-1)} ms`);
      }
      const p99 = summarize(p99s);
      const latency: Figure = {
        scenario,
        variant: `live, ${liveRate} appends/s`,
        unit: 'ms append→consumer (p99)',
        ...p99,
        p50Ms: summarize(p50s).median,
        p99Ms: p99.median,
        note: `${seconds} s of one-event appends to ${partitions}-partition topic; relay in the appending process; no baseline`,
        target: delayTarget(p99.median),
      };
      return [catchUp, limit, latency];
    } finally {
      await admin.disconnect();
    }
  },
};
