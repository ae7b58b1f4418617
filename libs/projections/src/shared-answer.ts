import type { RecentMap } from '@deals/platform';

/** A computation shared with the askers that arrive while it runs, and left behind if kept. */
export interface Remembered<T> {
  /** The state of the read model the value was computed at: a revision, a count of late events, a checkpoint. */
  readonly at: string | number;
  readonly value: Promise<T>;
}

/**
 * The entry's value when it was computed at `at` (and, once known, `usable` accepts it); else one
 * computation that the askers arriving meanwhile share, kept only if `keep` agrees once it is done
 * (a commit landing in between would leave mixed figures behind).
 */
export async function sharedAnswer<T>(
  entries: RecentMap<string, Remembered<T>>,
  key: string,
  at: string | number,
  compute: () => Promise<T>,
  keep: () => Promise<boolean>,
  usable?: (value: T) => boolean,
): Promise<T> {
  const known = entries.get(key);
  if (known?.at === at) {
    if (usable === undefined) {
      entries.set(key, known);
      return known.value;
    }
    const value = await known.value;
    if (usable(value)) {
      entries.set(key, known);
      return value;
    }
  }
  const value = compute();
  entries.set(key, { at, value });
  let kept = false;
  try {
    const result = await value;
    kept = await keep();
    return result;
  } finally {
    if (!kept && entries.get(key)?.value === value) entries.delete(key);
  }
}
