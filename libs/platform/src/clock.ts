/** Injected wherever "now" matters, so tests control time without sleeps or fake timers. */
export abstract class Clock {
  abstract now(): Date;
}

export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}
