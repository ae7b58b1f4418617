import { ChangeSet } from './change-set';
import type { ReadModelChange } from './read-model-store.port';

const changes: ReadModelChange[] = [
  { kind: 'put', collection: 'p:doc', id: 'a', document: { n: 1 } },
  { kind: 'increment', counter: 'p:totals', field: 'n', by: 2 },
  { kind: 'put', collection: 'p:doc', id: 'a', document: { n: 2 } },
  { kind: 'increment', counter: 'p:totals', field: 'n', by: 3 },
  { kind: 'index', index: 'p:by-n', member: 'a', score: 1 },
  { kind: 'unindex', index: 'p:by-n', member: 'a' },
];

describe('ChangeSet', () => {
  it('folds changes into their net effect', () => {
    const set = new ChangeSet('p');
    set.add(changes);
    expect(set.toChanges()).toEqual([
      { kind: 'put', collection: 'p:doc', id: 'a', document: { n: 2 } },
      { kind: 'increment', counter: 'p:totals', field: 'n', by: 5 },
      { kind: 'unindex', index: 'p:by-n', member: 'a' },
    ]);
  });

  it('answers a frozen array, so that what a store reuses cannot change under it', () => {
    const set = new ChangeSet('p');
    set.add(changes);
    const net = set.toChanges();
    expect(Object.isFrozen(net)).toBe(true);
    expect(net.every((change) => Object.isFrozen(change))).toBe(true);
  });

  it('reuses the fold of an array it answered, for the same projection, while nothing was added since', () => {
    const set = new ChangeSet('p');
    set.add(changes);
    const net = set.toChanges();
    expect(ChangeSet.of('p', net)).toBe(set);
    expect(() => ChangeSet.of('q', net)).toThrow(/outside the projection's namespace/);
  });

  it('folds again an array that more changes have made stale', () => {
    const set = new ChangeSet('p');
    set.add(changes);
    const net = set.toChanges();
    set.add([{ kind: 'increment', counter: 'p:totals', field: 'n', by: 1 }]);
    const again = ChangeSet.of('p', net);
    expect(again).not.toBe(set);
    expect(again.counters.get('p:totals')?.get('n')).toBe(5);
  });

  it('checks and folds an array it did not answer', () => {
    const again = ChangeSet.of('p', changes);
    expect(again.documents.get('p:doc')?.get('a')).toEqual({ n: 2 });
    expect(() => ChangeSet.of('p', [{ kind: 'increment', counter: 'p:totals', field: 'n', by: NaN }])).toThrow(RangeError);
  });
});
