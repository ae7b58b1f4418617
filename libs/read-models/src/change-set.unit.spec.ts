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

  it('takes a change set of the projection as it is, and refuses one of another', () => {
    const set = new ChangeSet('p');
    set.add(changes);
    expect(ChangeSet.of('p', set)).toBe(set);
    expect(() => ChangeSet.of('q', set)).toThrow(/outside the projection's namespace/);
  });

  it('checks and folds an array', () => {
    const again = ChangeSet.of('p', changes);
    expect(again.documents.get('p:doc')?.get('a')).toEqual({ n: 2 });
    expect(() => ChangeSet.of('p', [{ kind: 'increment', counter: 'p:totals', field: 'n', by: NaN }])).toThrow(RangeError);
  });
});
