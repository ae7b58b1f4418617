import { duration, formatProgress, ProgressReporter } from './progress';

function recorder(isTTY: boolean) {
  const writes: string[] = [];
  return { stream: { isTTY, columns: 200, write: (text: string) => writes.push(text) }, writes };
}

describe('formatProgress', () => {
  it('shows a bar, processed of total, rate and time left', () => {
    expect(formatProgress('rebuild pipeline', { processed: 41_000, total: 100_000, perSecond: 52_310.4, etaSeconds: 75 }, 10)).toBe(
      'rebuild pipeline [####......]  41% 41,000/100,000 events  52,310 events/s  ETA 1:15',
    );
  });

  it('leaves out what it does not know', () => {
    expect(formatProgress('import h.csv', { processed: 1200 }, 0, 'rows')).toBe('import h.csv 1,200 rows');
  });
});

describe('duration', () => {
  it('reads as m:ss, or h:mm:ss past an hour', () => {
    expect([duration(0), duration(59.6), duration(75), duration(3725)]).toEqual(['0:00', '1:00', '1:15', '1:02:05']);
  });
});

describe('ProgressReporter', () => {
  it('redraws one line in place on a terminal, at most every 100 ms', () => {
    let now = 0;
    const { stream, writes } = recorder(true);
    const progress = new ProgressReporter(stream, 'p', { now: () => now });
    for (let processed = 1; processed <= 50; processed++) {
      progress.update({ processed, total: 50 });
      now += 10;
    }
    expect(writes).toHaveLength(5);
    expect(writes.every((text) => text.startsWith('\r\x1b[2K') && !text.includes('\n'))).toBe(true);
    progress.clear();
    expect(writes.at(-1)).toBe('\r\x1b[2K');
  });

  it('writes plain lines into a log, the first only after an interval, so a short run writes none', () => {
    let now = 0;
    const { stream, writes } = recorder(false);
    const progress = new ProgressReporter(stream, 'p', { now: () => now, lineIntervalMs: 1000 });
    progress.update({ processed: 1 });
    expect(writes).toEqual([]);
    now = 1500;
    progress.update({ processed: 2 });
    now = 1600;
    progress.update({ processed: 3 });
    progress.clear();
    expect(writes).toEqual(['p 2 events\n']);
  });
});
