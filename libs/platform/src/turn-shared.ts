import { setImmediate as nextTurn } from 'node:timers';

/**
 * One read per key per turn of the event loop, shared by every asker in that turn: the requests a
 * busy server handles in one turn each need the same fact (how far a projection lags) before their
 * data, and a read started in this turn is still one made before each of their data reads. Forgotten
 * at the turn's end (a setImmediate queued at the first read), so it never outlives the turn that
 * read it, and a rejection is shared but not kept.
 */
export class TurnShared<K, V> {
  private readonly reads = new Map<K, Promise<V>>();
  private readonly forget = (): void => this.reads.clear();

  get(key: K, read: () => Promise<V>): Promise<V> {
    let shared = this.reads.get(key);
    if (shared === undefined) {
      if (this.reads.size === 0) nextTurn(this.forget);
      shared = read();
      this.reads.set(key, shared);
    }
    return shared;
  }
}
