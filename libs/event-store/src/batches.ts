import type { RecordedEvent } from './event-store.port';

export interface BatchOptions {
  /** A batch closes when it holds this many events… */
  readonly size: number;
  /** …or this long after its first event (read as each batch starts; undefined: wait until full)… */
  readonly maxDelayMs: () => number | undefined;
  /** …or right after an event for which this answers true, such as a catch-up target. */
  readonly closeAfter?: (event: RecordedEvent) => boolean;
}

/**
 * Groups a subscription's events into batches for a checkpointed consumer (projection runner,
 * relay). A batch is handed over before the next one is collected, so the consumer commits it and
 * its checkpoint in order; when the subscription ends (closed by stop()), the batch in hand comes
 * last, so it is committed rather than lost. The deadline keeps a quiet live stream from holding
 * a partial batch back.
 */
export async function* batches(events: AsyncIterable<RecordedEvent>, options: BatchOptions): AsyncGenerator<RecordedEvent[], void, undefined> {
  const iterator = events[Symbol.asyncIterator]();
  let batch: RecordedEvent[] = [];
  let next: Promise<IteratorResult<RecordedEvent>> | undefined;
  let deadline: Deadline | undefined;
  const handOver = () => {
    deadline?.cancel();
    deadline = undefined;
    const full = batch;
    batch = [];
    return full;
  };
  try {
    for (;;) {
      next ??= iterator.next();
      // Racing costs a promise per event, so only a batch waiting on its deadline races.
      const outcome = deadline ? await Promise.race([next, deadline.promise]) : await next;
      if (outcome === 'elapsed') {
        yield handOver();
        continue;
      }
      next = undefined;
      if (outcome.done) break;
      batch.push(outcome.value);
      if (batch.length === 1) {
        const ms = options.maxDelayMs();
        if (ms !== undefined) deadline = startDeadline(ms);
      }
      if (batch.length >= options.size || options.closeAfter?.(outcome.value)) yield handOver();
    }
    if (batch.length > 0) yield handOver();
  } finally {
    deadline?.cancel();
  }
}

interface Deadline {
  readonly promise: Promise<'elapsed'>;
  readonly cancel: () => void;
}

function startDeadline(ms: number): Deadline {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<'elapsed'>((resolve) => {
    timer = setTimeout(() => resolve('elapsed'), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}
