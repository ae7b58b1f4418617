import type { OutputStream } from './cli-io';

export interface ProgressFigures {
  readonly processed: number;
  /** Absent when the total is not known beforehand: no bar and no ETA then. */
  readonly total?: number | undefined;
  readonly perSecond?: number | undefined;
  readonly etaSeconds?: number | undefined;
}

export interface ProgressOptions {
  /** Monotonic milliseconds; injected so tests need no timers. */
  readonly now?: () => number;
  /** Least time between two redraws on a terminal (about 10 per second). */
  readonly ttyIntervalMs?: number;
  /** Least time between two plain lines when the output is a file or a pipe (a log stays readable). */
  readonly lineIntervalMs?: number;
  /** What is counted: events (default) or rows. */
  readonly unit?: string;
}

const barWidth = 24;

/**
 * Progress on stderr. On a terminal, one line redrawn in place at most ~10 times a second; into a
 * file or pipe, a plain line every few seconds, so logs are not flooded with carriage returns.
 */
export class ProgressReporter {
  private readonly now: () => number;
  private readonly interval: number;
  private readonly unit: string;
  private lastDraw = -Infinity;
  private drawn = false;

  constructor(
    private readonly stream: OutputStream,
    private readonly label: string,
    options: ProgressOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    this.unit = options.unit ?? 'events';
    this.interval = stream.isTTY ? (options.ttyIntervalMs ?? 100) : (options.lineIntervalMs ?? 5_000);
    // In a log, a short run needs no progress lines at all: the first comes after one interval.
    if (!stream.isTTY) this.lastDraw = this.now();
  }

  update(figures: ProgressFigures): void {
    const now = this.now();
    if (now - this.lastDraw < this.interval) return;
    this.lastDraw = now;
    this.draw(figures);
  }

  /** Removes the bar from a terminal, so the summary that follows starts on a clean line. */
  clear(): void {
    if (this.stream.isTTY && this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }

  private draw(figures: ProgressFigures): void {
    const line = formatProgress(this.label, figures, this.stream.isTTY ? barWidth : 0, this.unit);
    if (this.stream.isTTY) {
      // 0 when the terminal does not say (a pty without a size): assume a common width.
      const width = this.stream.columns || 120;
      this.stream.write(`\r\x1b[2K${line.slice(0, Math.max(20, width - 1))}`);
      this.drawn = true;
    } else {
      this.stream.write(`${line}\n`);
    }
  }
}

/** `pipeline [#######.........] 41% 41,000/100,000 events  52,310 events/s  ETA 0:01` */
export function formatProgress(label: string, figures: ProgressFigures, width: number, unit = 'events'): string {
  const { processed, total, perSecond, etaSeconds } = figures;
  const parts = [label];
  if (total !== undefined && total > 0) {
    const ratio = Math.min(1, processed / total);
    if (width > 0) {
      const filled = Math.round(ratio * width);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`);
    }
    parts.push(`${String(Math.floor(ratio * 100)).padStart(3)}%`, `${count(processed)}/${count(total)} ${unit}`);
  } else {
    parts.push(`${count(processed)} ${unit}`);
  }
  if (perSecond !== undefined && Number.isFinite(perSecond)) parts.push(` ${count(Math.round(perSecond))} ${unit}/s`);
  if (etaSeconds !== undefined && Number.isFinite(etaSeconds)) parts.push(` ETA ${duration(etaSeconds)}`);
  return parts.join(' ');
}

export function count(value: number): string {
  return value.toLocaleString('en-US');
}

/** 75 → "1:15", 3725 → "1:02:05". */
export function duration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}
