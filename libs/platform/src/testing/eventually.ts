import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `check` every `everyMs` until it holds. Past `timeoutMs` it fails, naming what it waited for
 * (`what` as a function is worked out then, so it can tell the state it stopped at).
 */
export async function eventually(
  check: () => boolean,
  what: string | (() => string),
  { timeoutMs = 5_000, everyMs = 10 }: { readonly timeoutMs?: number; readonly everyMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(everyMs);
  }
}
