import { randomUUID } from 'node:crypto';
import { ChangeSet } from '../change-set';
import type { Checkpoint, CounterChanges, IndexEntry, JsonObject, ReadModelChange, ReadModelStore, ScoreRangeOptions } from '../read-model-store.port';

export interface ReadModelStoreFixture {
  readonly store: ReadModelStore;
  /** Closes the store and releases what the fixture made. */
  readonly cleanup: () => Promise<void>;
}

/**
 * The behaviour every ReadModelStore adapter must have, written only against the port. Each test owns
 * its data (random projection names) and never clears the store, so it can run against a shared server.
 */
export function describeReadModelStoreConformance(
  adapterName: string,
  createFixture: () => Promise<ReadModelStoreFixture>,
): void {
  describe(`ReadModelStore conformance: ${adapterName}`, () => {
    let fixture: ReadModelStoreFixture;
    let store: ReadModelStore;

    beforeEach(async () => {
      fixture = await createFixture();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    describe('commit', () => {
      it('applies puts, deletes, increments, index and unindex in order', async () => {
        const p = projectionName();
        await store.commit(
          p,
          [
            put(`${p}:deal`, 'a', { stage: 'lead', tags: ['x'], nested: { amount: 1.5 } }),
            put(`${p}:deal`, 'b', { stage: 'lead' }),
            put(`${p}:deal`, 'b', { stage: 'won' }),
            put(`${p}:deal`, 'c', { stage: 'lost' }),
            del(`${p}:deal`, 'c'),
            del(`${p}:deal`, 'd'),
            put(`${p}:deal`, 'd', { stage: 'proposal' }),
            increment(`${p}:totals`, 'n', 1),
            increment(`${p}:totals`, 'n', 1),
            increment(`${p}:totals`, 'amount', 0.1),
            increment(`${p}:totals`, 'amount', 0.2),
            increment(`${p}:totals`, 'debt', -2.5),
            index(`${p}:activity`, 'a', 10),
            index(`${p}:activity`, 'b', 20),
            index(`${p}:activity`, 'a', 30),
            index(`${p}:activity`, 'c', 5),
            unindex(`${p}:activity`, 'c'),
            unindex(`${p}:activity`, 'e'),
            index(`${p}:activity`, 'e', -1),
          ],
          checkpointAt(1n),
        );

        expect(await store.get(`${p}:deal`, 'a')).toEqual({ stage: 'lead', tags: ['x'], nested: { amount: 1.5 } });
        expect(await store.get(`${p}:deal`, 'b')).toEqual({ stage: 'won' });
        expect(await store.get(`${p}:deal`, 'c')).toBeUndefined();
        expect(await store.get(`${p}:deal`, 'd')).toEqual({ stage: 'proposal' });
        expect(await store.counters(`${p}:totals`)).toEqual({ n: 2, amount: 0.3, debt: -2.5 });
        expect(await everything(store, `${p}:activity`)).toEqual([entry('e', -1), entry('b', 20), entry('a', 30)]);
      });

      it('commits a change set of the projection as it commits the changes folded into it, and refuses one of another', async () => {
        const p = projectionName();
        const set = new ChangeSet(p);
        set.add([put(`${p}:deal`, 'a', { stage: 'lead' }), increment(`${p}:totals`, 'n', 2), index(`${p}:activity`, 'a', 5)]);
        set.add([put(`${p}:deal`, 'a', { stage: 'won' }), increment(`${p}:totals`, 'n', 3), index(`${p}:activity`, 'a', 7)]);
        await store.commit(p, set, checkpointAt(1n));

        expect(await store.get(`${p}:deal`, 'a')).toEqual({ stage: 'won' });
        expect(await store.counters(`${p}:totals`)).toEqual({ n: 5 });
        expect(await everything(store, `${p}:activity`)).toEqual([entry('a', 7)]);
        await expect(store.commit(projectionName(), set, checkpointAt(2n))).rejects.toThrow(/outside the projection's namespace/);
        expect((await store.checkpoint(p))?.eventsProcessed).toBe(1);
      });

      it('adds to counters across commits, with many fields, negative and fractional amounts', async () => {
        const p = projectionName();
        const fields = Array.from({ length: 50 }, (_, i) => `field-${i}`);
        await store.commit(p, fields.map((field, i) => increment(`${p}:totals`, field, i)), checkpointAt(1n));
        await store.commit(p, fields.map((field) => increment(`${p}:totals`, field, -0.25)), checkpointAt(2n));
        await store.commit(p, [increment(`${p}:totals`, 'field-0', 0.25)], checkpointAt(3n));

        const expected = Object.fromEntries(fields.map((field, i) => [field, i - 0.25]));
        expected['field-0'] = 0;
        expect(await store.counters(`${p}:totals`)).toEqual(expected);
      });

      it('applies a commit of thousands of counters, fields and index entries, more than one command carries', async () => {
        const p = projectionName();
        const changes: ReadModelChange[] = [];
        for (let c = 0; c < 300; c++) {
          for (let f = 0; f < 20; f++) changes.push(increment(`${p}:t:${c}`, `f${f}`, c + f / 4));
        }
        for (let m = 0; m < 5_000; m++) changes.push(index(`${p}:big`, `m${m}`, m % 97));
        for (let i = 0; i < 2_000; i++) changes.push(index(`${p}:one:${i}`, 'only', i));
        changes.push(unindex(`${p}:big`, 'm7'), increment(`${p}:t:0`, 'f0', 1));
        await store.commit(p, changes, checkpointAt(1n));

        expect(await store.counters(`${p}:t:0`)).toEqual(Object.fromEntries(Array.from({ length: 20 }, (_, f) => [`f${f}`, f / 4 + (f === 0 ? 1 : 0)])));
        expect(await store.counters(`${p}:t:299`)).toEqual(Object.fromEntries(Array.from({ length: 20 }, (_, f) => [`f${f}`, 299 + f / 4])));
        expect(await store.count(`${p}:big`)).toBe(4_999);
        expect(await store.range(`${p}:big`, { min: 7, max: 7, limit: 3 })).toEqual([entry('m104', 7), entry('m1074', 7), entry('m1171', 7)]);
        expect(await store.range(`${p}:one:0`, { limit: 2 })).toEqual([entry('only', 0)]);
        expect(await store.range(`${p}:one:1999`, { limit: 2 })).toEqual([entry('only', 1999)]);
      });

      it('moves the checkpoint with an empty list of changes', async () => {
        const p = projectionName();
        await store.commit(p, [], checkpointAt(7n));
        expect(await store.checkpoint(p)).toEqual(checkpointAt(7n));
      });

      it.each<[string, (p: string) => ReadModelChange]>([
        ['an increment that is not a finite number', (p) => increment(`${p}:totals`, 'n', Number.NaN)],
        ['a score that is not finite', (p) => index(`${p}:activity`, 'x', Number.POSITIVE_INFINITY)],
        ['a document that is not an object', (p) => ({ kind: 'put', collection: `${p}:deal`, id: 'x', document: [] as unknown as JsonObject })],
        ['a document that is not JSON', (p) => put(`${p}:deal`, 'x', { big: 1n })],
        ['a name outside the projection', () => put('elsewhere:deal', 'x', {})],
        ['an unknown kind of change', (p) => ({ kind: 'rename', collection: `${p}:deal` }) as unknown as ReadModelChange],
      ])('is all or nothing: a commit with %s changes nothing and keeps the checkpoint', async (_, bad) => {
        const p = projectionName();
        await store.commit(p, [put(`${p}:deal`, 'a', { v: 1 }), increment(`${p}:totals`, 'n', 1), index(`${p}:activity`, 'a', 1)], checkpointAt(1n));

        await expect(
          store.commit(
            p,
            [
              put(`${p}:deal`, 'a', { v: 2 }),
              put(`${p}:deal`, 'b', { v: 2 }),
              del(`${p}:deal`, 'a'),
              increment(`${p}:totals`, 'n', 1),
              index(`${p}:activity`, 'b', 2),
              unindex(`${p}:activity`, 'a'),
              bad(p),
            ],
            checkpointAt(2n),
          ),
        ).rejects.toThrow();

        expect(await store.getMany(`${p}:deal`, ['a', 'b'])).toEqual([{ v: 1 }, undefined]);
        expect(await store.counters(`${p}:totals`)).toEqual({ n: 1 });
        expect(await everything(store, `${p}:activity`)).toEqual([entry('a', 1)]);
        expect(await store.checkpoint(p)).toEqual(checkpointAt(1n));
      });

      it('lands no checkpoint when the first commit fails', async () => {
        const p = projectionName();
        await expect(store.commit(p, [put(`${p}:deal`, 'a', {}), increment(`${p}:totals`, 'n', Number.NaN)], checkpointAt(1n))).rejects.toThrow();
        expect(await store.checkpoint(p)).toBeUndefined();
        expect(await store.get(`${p}:deal`, 'a')).toBeUndefined();
      });

      it('keeps concurrent commits of different projections apart', async () => {
        const projections = Array.from({ length: 4 }, () => projectionName());
        await Promise.all(
          Array.from({ length: 40 }, (_, turn) => {
            const p = projections[turn % projections.length] ?? '';
            const n = BigInt(Math.floor(turn / projections.length) + 1);
            return store.commit(p, [increment(`${p}:totals`, 'n', 1), put(`${p}:deal`, `d${turn}`, { turn })], checkpointAt(n));
          }),
        );
        for (const [i, p] of projections.entries()) {
          expect(await store.counters(`${p}:totals`)).toEqual({ n: 10 });
          expect(await store.checkpoint(p)).toEqual(checkpointAt(10n));
          const ids = (await documents(store, `${p}:deal`)).map((document) => document.id).sort();
          expect(ids).toEqual(Array.from({ length: 10 }, (_, k) => `d${k * projections.length + i}`).sort());
        }
      });
    });

    describe('catch-up commits', () => {
      const catchingUp = { catchingUp: true } as const;

      /** The same changes committed as a catch-up, then as a plain commit: the reads must agree. */
      async function bothWays(commits: ReadonlyArray<(p: string) => ReadModelChange[]>): Promise<[string, string]> {
        const [staged, plain] = [projectionName(), projectionName()];
        for (const [i, changes] of commits.entries()) {
          await store.commit(staged, changes(staged), checkpointAt(BigInt(i + 1)), catchingUp);
          await store.commit(plain, changes(plain), checkpointAt(BigInt(i + 1)));
        }
        return [staged, plain];
      }

      const history: ReadonlyArray<(p: string) => ReadModelChange[]> = [
        (p) => [index(`${p}:activity`, 'a', 10), index(`${p}:activity`, 'b', 20), index(`${p}:other`, 'x', 1), put(`${p}:deal`, 'a', { v: 1 })],
        (p) => [index(`${p}:activity`, 'a', 30), unindex(`${p}:activity`, 'b'), index(`${p}:activity`, 'c', 5), increment(`${p}:totals`, 'n', 2)],
        (p) => [unindex(`${p}:other`, 'x'), index(`${p}:activity`, 'b', 25), index(`${p}:activity`, 'd', 5)],
      ];

      it('answer every read as plain commits do, across commits that re-score and unindex', async () => {
        const [staged, plain] = await bothWays(history);
        expect(await everything(store, `${staged}:activity`)).toEqual(await everything(store, `${plain}:activity`));
        expect(await everything(store, `${staged}:activity`)).toEqual([entry('c', 5), entry('d', 5), entry('b', 25), entry('a', 30)]);
        expect(await store.count(`${staged}:other`)).toBe(0);
        expect(await store.get(`${staged}:deal`, 'a')).toEqual({ v: 1 });
        expect(await store.counters(`${staged}:totals`)).toEqual({ n: 2 });
        expect(await store.checkpoint(staged)).toEqual(checkpointAt(3n));
      });

      it('count and range see every catch-up commit, read between commits or not, and a plain commit after them', async () => {
        const p = projectionName();
        await store.commit(p, history[0]!(p), checkpointAt(1n), catchingUp);
        expect(await store.count(`${p}:activity`)).toBe(2);
        await store.commit(p, history[1]!(p), checkpointAt(2n), catchingUp);
        await store.commit(p, history[2]!(p), checkpointAt(3n), catchingUp);
        await store.commit(p, [index(`${p}:activity`, 'e', 1)], checkpointAt(4n));
        expect(await everything(store, `${p}:activity`)).toEqual([entry('e', 1), entry('c', 5), entry('d', 5), entry('b', 25), entry('a', 30)]);
      });

      it('scores see every catch-up commit, read between commits or not', async () => {
        const p = projectionName();
        await store.commit(p, history[0]!(p), checkpointAt(1n), catchingUp);
        expect(await store.scores(`${p}:activity`, { limit: 10 })).toEqual([10, 20]);
        await store.commit(p, history[1]!(p), checkpointAt(2n), catchingUp);
        await store.commit(p, history[2]!(p), checkpointAt(3n), catchingUp);
        expect(await store.scores(`${p}:activity`, { limit: 10 })).toEqual([5, 5, 25, 30]);
      });

      it('settle changes nothing a reader sees, and may be called at any time', async () => {
        const p = projectionName();
        await store.settle(p);
        await store.commit(p, history[0]!(p), checkpointAt(1n), catchingUp);
        await store.commit(p, history[1]!(p), checkpointAt(2n), catchingUp);
        await store.settle(p);
        await store.settle(p);
        await store.commit(p, history[2]!(p), checkpointAt(3n), catchingUp);
        expect(await everything(store, `${p}:activity`)).toEqual([entry('c', 5), entry('d', 5), entry('b', 25), entry('a', 30)]);
        await expect(store.settle('pipe:line')).rejects.toThrow(TypeError);
      });

      it('after a reset, start again from nothing', async () => {
        const p = projectionName();
        await store.commit(p, history[0]!(p), checkpointAt(1n), catchingUp);
        await store.reset(p);
        await store.commit(p, [index(`${p}:activity`, 'z', 9)], checkpointAt(1n), catchingUp);
        await store.settle(p);
        expect(await everything(store, `${p}:activity`)).toEqual([entry('z', 9)]);
        expect(await store.count(`${p}:other`)).toBe(0);
      });

      it('keep projections apart: one settling leaves another\'s entries where they are', async () => {
        const [a, b] = [projectionName(), projectionName()];
        await store.commit(a, [index(`${a}:x`, 'm', 1)], checkpointAt(1n), catchingUp);
        await store.commit(b, [index(`${b}:x`, 'n', 2)], checkpointAt(1n), catchingUp);
        await store.settle(a);
        await store.commit(b, [index(`${b}:x`, 'o', 3)], checkpointAt(2n), catchingUp);
        expect(await everything(store, `${a}:x`)).toEqual([entry('m', 1)]);
        expect(await everything(store, `${b}:x`)).toEqual([entry('n', 2), entry('o', 3)]);
      });
    });

    describe('checkpoint', () => {
      it('is undefined for a projection that never committed', async () => {
        expect(await store.checkpoint(projectionName())).toBeUndefined();
      });

      it('round-trips positions beyond 2^53 exactly', async () => {
        const p = projectionName();
        const checkpoint: Checkpoint = {
          position: { commit: 2n ** 64n - 1n, prepare: 2n ** 53n + 1n },
          eventsProcessed: 1_234_567,
          lastRecordedAt: '2025-03-04T05:06:07.089Z',
        };
        await store.commit(p, [], checkpoint);
        expect(await store.checkpoint(p)).toEqual(checkpoint);
      });
    });

    describe('documents', () => {
      it('get and getMany answer in the order asked, undefined where missing', async () => {
        const p = projectionName();
        await store.commit(p, [put(`${p}:deal`, 'a', { n: 1 }), put(`${p}:deal`, 'b', { n: 2 }), put(`${p}:other`, 'c', { n: 3 })], checkpointAt(1n));

        expect(await store.get(`${p}:deal`, 'missing')).toBeUndefined();
        expect(await store.get(`${p}:deal`, 'c')).toBeUndefined();
        expect(await store.getMany(`${p}:deal`, ['b', 'missing', 'a', 'b'])).toEqual([{ n: 2 }, undefined, { n: 1 }, { n: 2 }]);
        expect(await store.getMany(`${p}:deal`, [])).toEqual([]);
        expect(await store.getMany(`${p}:nothing`, ['a'])).toEqual([undefined]);
      });

      it('hands out frozen documents to a reader that only reads, and its own copies to any other', async () => {
        const p = projectionName();
        const document = { n: 1, stints: [{ stage: 'lead', at: 1 }], nested: { list: [1, 2] } };
        await store.commit(p, [put(`${p}:deal`, 'a', document)], checkpointAt(1n));

        const [frozen] = await store.getMany(`${p}:deal`, ['a', 'missing'], { frozen: true });
        expect(frozen).toEqual(document);
        expect(Object.isFrozen(frozen)).toBe(true);
        expect(Object.isFrozen((frozen as typeof document).stints[0])).toBe(true);
        expect(Object.isFrozen((frozen as typeof document).nested.list)).toBe(true);
        expect(await store.getMany(`${p}:deal`, ['missing'], { frozen: true })).toEqual([undefined]);

        const [own] = (await store.getMany(`${p}:deal`, ['a'])) as [typeof document];
        own.stints[0]!.at = 2;
        expect(await store.get(`${p}:deal`, 'a')).toEqual(document);

        await store.commit(p, [put(`${p}:deal`, 'a', { ...document, n: 2 })], checkpointAt(2n));
        expect(await store.getMany(`${p}:deal`, ['a'], { frozen: true })).toEqual([{ ...document, n: 2 }]);
      });

      it('keeps any JSON object as it was put', async () => {
        const p = projectionName();
        const document = { text: 'Zoë “quoted” \u0000 ✓ 😀', n: -0.000123, big: 9_007_199_254_740_991, list: [1, 'two', null, { three: true }], empty: {} };
        await store.commit(p, [put(`${p}:deal`, 'weird id: ✓/😀', document)], checkpointAt(1n));
        expect(await store.get(`${p}:deal`, 'weird id: ✓/😀')).toEqual(document);
      });

      it('scan pages through a collection, every document once, whatever order they were written and rewritten in', async () => {
        const p = projectionName();
        const ids = Array.from({ length: 57 }, (_, i) => `deal-${String(i).padStart(3, '0')}`).reverse();
        await store.commit(p, [...ids.slice(0, 30).map((id) => put(`${p}:deal`, id, { id })), put(`${p}:deals`, 'other', {})], checkpointAt(1n));
        await store.commit(p, [...ids.slice(30).map((id) => put(`${p}:deal`, id, { id })), put(`${p}:deal`, ids[3]!, { id: ids[3], again: true })], checkpointAt(2n));

        const seen = await documents(store, `${p}:deal`, 10);
        expect(seen.map((document) => document.id).sort()).toEqual([...ids].sort());
        expect(seen.every(({ id, document }) => document['id'] === id)).toBe(true);
        expect(seen.find(({ id }) => id === ids[3])?.document).toEqual({ id: ids[3], again: true });
        expect(await documents(store, `${p}:nothing`)).toEqual([]);
      });

      it('scan reads lazily, one page at a time: a document changed before its page is read is seen as changed', async () => {
        const p = projectionName();
        await store.commit(p, ['a', 'b', 'c'].map((id) => put(`${p}:deal`, id, { v: 1 })), checkpointAt(1n));

        const seen: Array<[string, unknown]> = [];
        for await (const { id, document } of store.scan(`${p}:deal`, { pageSize: 1 })) {
          seen.push([id, document['v']]);
          if (seen.length === 1) {
            const rest = ['a', 'b', 'c'].filter((other) => other !== id);
            await store.commit(p, rest.map((other) => put(`${p}:deal`, other, { v: 2 })), checkpointAt(2n));
          }
        }
        expect(seen.map(([, v]) => v)).toEqual([1, 2, 2]);
      });

      it('scan never sees a document twice, even one deleted and written again while it runs', async () => {
        const p = projectionName();
        await store.commit(p, ['a', 'b', 'c', 'd'].map((id) => put(`${p}:deal`, id, {})), checkpointAt(1n));

        const seen: string[] = [];
        for await (const { id } of store.scan(`${p}:deal`, { pageSize: 1 })) {
          seen.push(id);
          if (seen.length === 2) {
            await store.commit(p, [del(`${p}:deal`, seen[0]!)], checkpointAt(2n));
            await store.commit(p, [put(`${p}:deal`, seen[0]!, {})], checkpointAt(3n));
          }
        }
        expect(seen.sort()).toEqual(['a', 'b', 'c', 'd']);
      });

      it('scan lets other work run between pages, so a long scan does not hold up every request', async () => {
        const p = projectionName();
        await store.commit(p, ['a', 'b', 'c'].map((id) => put(`${p}:deal`, id, {})), checkpointAt(1n));

        let otherWorkRan = false;
        const seen: Array<[string, boolean]> = [];
        for await (const { id } of store.scan(`${p}:deal`, { pageSize: 1 })) {
          if (id === 'a') setImmediate(() => (otherWorkRan = true));
          seen.push([id, otherWorkRan]);
        }
        expect(seen).toEqual([
          ['a', false],
          ['b', true],
          ['c', true],
        ]);
      });
    });

    describe('counters', () => {
      it('reads an absent counter as {}', async () => {
        expect(await store.counters(`${projectionName()}:totals`)).toEqual({});
        expect(await store.counters(`${projectionName()}:totals`, ['n'])).toEqual({});
      });

      it('reads only the named fields that exist, rounded as every read is', async () => {
        const p = projectionName();
        const fields = Array.from({ length: 40 }, (_, i) => `f:${i}`);
        await store.commit(p, [...fields.map((field, i) => increment(`${p}:totals`, field, i + 0.1 + 0.2)), increment(`${p}:other`, 'f:1', 5)], checkpointAt(1n));

        expect(await store.counters(`${p}:totals`, ['f:3', 'f:39', 'absent', 'f:3', "f:1' OR 1=1 --"])).toEqual({ 'f:3': 3.3, 'f:39': 39.3 });
        expect(await store.counters(`${p}:totals`, [])).toEqual({});
        expect(await store.counters(`${p}:other`, fields)).toEqual({ 'f:1': 5 });
      });

      it('reads a field named like an object property as a field of its own', async () => {
        const p = projectionName();
        await store.commit(p, [increment(`${p}:totals`, '__proto__', 2), increment(`${p}:totals`, 'constructor', 3)], checkpointAt(1n));

        for (const read of [await store.counters(`${p}:totals`), await store.counters(`${p}:totals`, ['__proto__', 'constructor', 'toString'])]) {
          expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
          expect(Object.entries(read).sort()).toEqual([
            ['__proto__', 2],
            ['constructor', 3],
          ]);
        }
      });

      it('refuses field names that are not strings', async () => {
        await expect(store.counters(`${projectionName()}:totals`, [1] as unknown as string[])).rejects.toThrow(TypeError);
      });
    });

    describe('countersSince', () => {
      /** What a caller that keeps a hash holds after taking an answer over it. */
      const takenOver = (kept: Readonly<Record<string, number>>, { fields, whole }: CounterChanges) => (whole ? { ...fields } : { ...kept, ...fields });

      it('answers every field with no stamp; from a stamp, the fields changed since, each as it now is, and taken over what was kept they make the hash', async () => {
        const p = projectionName();
        const fields = Array.from({ length: 50 }, (_, i) => increment(`${p}:t`, `f${i}`, i));
        await store.commit(p, [...fields, increment(`${p}:other`, 'n', 1)], checkpointAt(1n));
        const first = await store.countersSince(`${p}:t`, undefined);
        expect(first.whole).toBe(true);
        expect(first.fields).toEqual(await store.counters(`${p}:t`));

        await store.commit(p, [increment(`${p}:t`, 'f3', 0.5), increment(`${p}:t`, 'f49', -49), increment(`${p}:t`, 'new', 2), increment(`${p}:other`, 'n', 1)], checkpointAt(2n));
        const second = await store.countersSince(`${p}:t`, first.stamp);
        expect(takenOver(first.fields, second)).toEqual(await store.counters(`${p}:t`));
        if (first.stamp === undefined) expect(second.whole).toBe(true);
        else expect(second).toEqual({ fields: { f3: 3.5, f49: 0, new: 2 }, whole: false, stamp: second.stamp });

        // Nothing changed in this hash since: nothing to take over.
        await store.commit(p, [increment(`${p}:other`, 'n', 1)], checkpointAt(3n));
        const third = await store.countersSince(`${p}:t`, second.stamp);
        expect(takenOver(takenOver(first.fields, second), third)).toEqual(await store.counters(`${p}:t`));
        if (second.stamp !== undefined) expect(third.fields).toEqual({});
      });

      it('answers every field when asked from a stamp from before a reset, which deleted fields no stamp can name', async () => {
        const p = projectionName();
        await store.commit(p, [increment(`${p}:t`, 'a', 1), increment(`${p}:t`, 'b', 1)], checkpointAt(1n));
        const before = await store.countersSince(`${p}:t`, undefined);
        await store.reset(p);
        await store.commit(p, [increment(`${p}:t`, 'a', 5)], checkpointAt(1n));
        const after = await store.countersSince(`${p}:t`, before.stamp);
        expect(after.whole).toBe(true);
        expect(after.fields).toEqual({ a: 5 });
      });

      it('answers every field when asked from a stamp the store never gave', async () => {
        const p = projectionName();
        await store.commit(p, [increment(`${p}:t`, 'a', 1)], checkpointAt(1n));
        const { stamp } = await store.countersSince(`${p}:t`, undefined);
        expect(await store.countersSince(`${p}:t`, (stamp ?? 0) + 1_000)).toEqual({ fields: { a: 1 }, whole: true, stamp });
      });

      it('answers an absent hash as no fields', async () => {
        expect((await store.countersSince(`${projectionName()}:t`, undefined)).fields).toEqual({});
      });

      it('refuses a stamp that is not a whole number of at least zero', async () => {
        for (const since of [-1, 1.5, Number.NaN]) await expect(store.countersSince(`${projectionName()}:t`, since)).rejects.toThrow(RangeError);
      });
    });

    describe('indexes', () => {
      /** Scores with ties: 1 (m1..m3), 2 (n1, n2), 3 (o1..o4), 4 (p1). */
      async function tiedIndex(): Promise<{ name: string; entries: IndexEntry[] }> {
        const p = projectionName();
        const name = `${p}:activity`;
        const entries = [
          ...['m1', 'm2', 'm3'].map((member) => entry(member, 1)),
          ...['n1', 'n2'].map((member) => entry(member, 2)),
          ...['o1', 'o2', 'o3', 'o4'].map((member) => entry(member, 3)),
          entry('p1', 4),
        ];
        const shuffled = [...entries].sort(() => Math.random() - 0.5);
        await store.commit(p, shuffled.map(({ member, score }) => index(name, member, score)), checkpointAt(1n));
        return { name, entries };
      }

      it('range orders by score then member, with bounds and a limit', async () => {
        const { name, entries } = await tiedIndex();
        expect(await store.range(name, { limit: 100 })).toEqual(entries);
        expect(await store.range(name, { limit: 4 })).toEqual(entries.slice(0, 4));
        expect(await store.range(name, { min: 2, max: 3, limit: 100 })).toEqual(entries.slice(3, 9));
        expect(await store.range(name, { min: 2.5, limit: 2 })).toEqual(entries.slice(5, 7));
        expect(await store.range(name, { max: 1, limit: 100 })).toEqual(entries.slice(0, 3));
        expect(await store.range(name, { min: 5, limit: 100 })).toEqual([]);
        expect(await store.range(name, { limit: 0 })).toEqual([]);
        expect(await store.range(`${name}-missing`, { limit: 10 })).toEqual([]);
      });

      it('range in reverse orders by score then member, both descending', async () => {
        const { name, entries } = await tiedIndex();
        const reversed = [...entries].reverse();
        expect(await store.range(name, { reverse: true, limit: 100 })).toEqual(reversed);
        expect(await store.range(name, { reverse: true, min: 2, max: 3, limit: 3 })).toEqual(reversed.slice(1, 4));
      });

      it('range skips `offset` entries within the bounds, in the direction of travel, ties by member', async () => {
        const { name, entries } = await tiedIndex();
        const reversed = [...entries].reverse();
        expect(await store.range(name, { offset: 4, limit: 1 })).toEqual(entries.slice(4, 5));
        expect(await store.range(name, { offset: 2, limit: 3 })).toEqual(entries.slice(2, 5));
        expect(await store.range(name, { min: 2, max: 3, offset: 3, limit: 100 })).toEqual(entries.slice(6, 9));
        expect(await store.range(name, { reverse: true, offset: 1, limit: 2 })).toEqual(reversed.slice(1, 3));
        expect(await store.range(name, { reverse: true, min: 1, max: 3, offset: 5, limit: 1 })).toEqual(reversed.slice(6, 7));
        expect(await store.range(name, { offset: 0, limit: 2 })).toEqual(entries.slice(0, 2));
        expect(await store.range(name, { offset: 10, limit: 5 })).toEqual([]);
        expect(await store.range(name, { min: 4, offset: 1, limit: 5 })).toEqual([]);
      });

      it('scores answers the scores of range, in its order, with bounds, an offset, reverse and a limit', async () => {
        const { name, entries } = await tiedIndex();
        expect(await store.scores(name, { limit: 100 })).toEqual(entries.map((each) => each.score));
        const asked: ScoreRangeOptions[] = [
          { limit: 4 },
          { min: 2, max: 3, limit: 100 },
          { min: 2.5, limit: 2 },
          { max: 1, limit: 100 },
          { reverse: true, limit: 100 },
          { reverse: true, min: 2, max: 3, limit: 3 },
          { offset: 4, limit: 1 },
          { min: 2, max: 3, offset: 3, limit: 100 },
          { reverse: true, min: 1, max: 3, offset: 5, limit: 1 },
          { offset: 10, limit: 5 },
          { min: 5, limit: 100 },
          { limit: 0 },
        ];
        for (const options of asked) expect(await store.scores(name, options)).toEqual((await store.range(name, options)).map((each) => each.score));
        expect(await store.scores(`${name}-missing`, { limit: 10 })).toEqual([]);
        await expect(store.scores(name, { offset: -1, limit: 1 })).rejects.toThrow(RangeError);
      });

      it('unionScores answers the scores of one index holding every entry of the indexes named, with bounds, an offset, reverse and a limit', async () => {
        const { name, entries } = await tiedIndex();
        // A second index of the same projection, and one of another projection still catching up.
        const p = name.slice(0, name.indexOf(':'));
        const second = `${p}:second`;
        const secondScores = [0.5, 2, 3, 3, 6];
        await store.commit(p, secondScores.map((score, i) => index(second, `s${i}`, score)), checkpointAt(2n));
        const other = projectionName();
        const otherScores = [1, 2.5, 4, 7];
        await store.commit(other, otherScores.map((score, i) => index(`${other}:activity`, `t${i}`, score)), checkpointAt(1n), { catchingUp: true });
        const indexes = [name, second, `${other}:activity`, `${p}:missing`, second];
        const all = [...entries.map((each) => each.score), ...secondScores, ...otherScores];
        const expected = ({ min = -Infinity, max = Infinity, reverse = false, offset = 0, limit }: ScoreRangeOptions): number[] =>
          all
            .filter((score) => score >= min && score <= max)
            .sort((a, b) => (reverse ? b - a : a - b))
            .slice(offset, offset + limit);
        const asked: ScoreRangeOptions[] = [
          { limit: 100 },
          { limit: 4 },
          { min: 2, max: 3, limit: 100 },
          { min: 2.5, limit: 3 },
          { reverse: true, limit: 100 },
          { reverse: true, min: 2, max: 4, limit: 5 },
          { offset: 6, limit: 2 },
          { reverse: true, min: 1, max: 3, offset: 5, limit: 3 },
          { offset: 30, limit: 5 },
          { min: 8, limit: 100 },
          { limit: 0 },
        ];
        for (const options of asked) expect(await store.unionScores(indexes, options)).toEqual(expected(options));
        expect(await store.unionScores([name], { min: 2, limit: 100 })).toEqual(await store.scores(name, { min: 2, limit: 100 }));
        expect(await store.unionScores([], { limit: 10 })).toEqual([]);
        expect(await store.unionScores([`${p}:missing`], { limit: 10 })).toEqual([]);
        await expect(store.unionScores(indexes, { offset: -1, limit: 1 })).rejects.toThrow(RangeError);
        await expect(store.unionScores(indexes, { limit: 1.5 })).rejects.toThrow(RangeError);
      });

      it('unionScores merges as many indexes as a question names (250 here)', async () => {
        const p = projectionName();
        const indexes = Array.from({ length: 250 }, (_, i) => `${p}:many:${i}`);
        // Index i holds the scores i, i + 250 and i + 500: the union holds 0..749 once each.
        await store.commit(p, indexes.flatMap((name, i) => [0, 250, 500].map((step) => index(name, `m${i}-${step}`, i + step))), checkpointAt(1n));
        const upTo = (from: number, count: number, step = 1) => Array.from({ length: count }, (_, k) => from + k * step);
        expect(await store.unionScores(indexes, { limit: 1000 })).toEqual(upTo(0, 750));
        expect(await store.unionScores(indexes, { min: 100, offset: 290, limit: 20 })).toEqual(upTo(390, 20));
        expect(await store.unionScores(indexes, { reverse: true, max: 600, offset: 5, limit: 3 })).toEqual(upTo(595, 3, -1));
      });

      it('range refuses an offset beside an `after` cursor, and one that is not a whole number', async () => {
        const { name, entries } = await tiedIndex();
        await expect(store.range(name, { offset: 1, after: entries[0]!, limit: 1 })).rejects.toThrow(RangeError);
        await expect(store.range(name, { offset: -1, limit: 1 })).rejects.toThrow(RangeError);
        await expect(store.range(name, { offset: 1.5, limit: 1 })).rejects.toThrow(RangeError);
      });

      it.each([false, true])('pages with `after` through ties on score (reverse: %s)', async (reverse) => {
        const { name, entries } = await tiedIndex();
        const expected = reverse ? [...entries].reverse() : entries;
        for (const pageSize of [1, 2, 3, 5]) {
          const pages: IndexEntry[][] = [];
          let after: IndexEntry | undefined;
          for (;;) {
            const page = await store.range(name, { limit: pageSize, reverse, ...(after ? { after } : {}) });
            if (page.length === 0) break;
            pages.push(page);
            after = page.at(-1);
          }
          expect(pages.flat()).toEqual(expected);
          expect(pages.every((page) => page.length <= pageSize)).toBe(true);
        }
      });

      it('pages with `after` and bounds together', async () => {
        const { name, entries } = await tiedIndex();
        expect(await store.range(name, { min: 1, max: 3, after: entry('n1', 2), limit: 3 })).toEqual(entries.slice(4, 7));
        expect(await store.range(name, { min: 1, max: 3, after: entry('o3', 3), limit: 3 })).toEqual(entries.slice(8, 9));
        expect(await store.range(name, { min: 1, max: 3, after: entry('n2', 2), limit: 3, reverse: true })).toEqual(
          entries.slice(1, 4).reverse(),
        );
        // A cursor before the range starts it; one beyond its end finds nothing.
        expect(await store.range(name, { min: 2, after: entry('m3', 1), limit: 2 })).toEqual(entries.slice(3, 5));
        expect(await store.range(name, { max: 2, after: entry('o1', 3), limit: 2 })).toEqual([]);
      });

      it('continues after a cursor whose member has moved or gone since the page was read', async () => {
        const { name, entries } = await tiedIndex();
        const p = name.slice(0, name.indexOf(':'));
        await store.commit(p, [index(name, 'n1', 9), unindex(name, 'o2')], checkpointAt(2n));
        const now = entries.filter(({ member }) => member !== 'n1' && member !== 'o2').concat(entry('n1', 9));

        expect(await store.range(name, { after: entry('n1', 2), limit: 3 })).toEqual(now.slice(3, 6));
        expect(await store.range(name, { after: entry('o2', 3), limit: 10 })).toEqual(now.slice(5));
        expect(await store.range(name, { after: entry('o2', 3), limit: 2, reverse: true })).toEqual([entry('o1', 3), entry('n2', 2)]);
        expect(await store.range(name, { after: entry('a', 3), limit: 1 })).toEqual([entry('o1', 3)]);
      });

      it('count counts members within inclusive bounds', async () => {
        const { name } = await tiedIndex();
        expect(await store.count(name)).toBe(10);
        expect(await store.count(name, 2)).toBe(7);
        expect(await store.count(name, 2, 3)).toBe(6);
        expect(await store.count(name, undefined, 1)).toBe(3);
        expect(await store.count(name, 3.5, 3.9)).toBe(0);
        expect(await store.count(`${name}-missing`)).toBe(0);
      });

      it('count with a limit answers the count, or the limit when there are more', async () => {
        const { name } = await tiedIndex();
        expect(await store.count(name, undefined, undefined, 4)).toBe(4);
        expect(await store.count(name, 2, 3, 6)).toBe(6);
        expect(await store.count(name, 2, 3, 7)).toBe(6);
        expect(await store.count(name, undefined, 1, 1_000)).toBe(3);
        expect(await store.count(`${name}-missing`, undefined, undefined, 1)).toBe(0);
        for (const limit of [0, -1, 1.5, Number.NaN]) await expect(store.count(name, undefined, undefined, limit)).rejects.toThrow(RangeError);
      });
    });

    describe('reset', () => {
      it("removes only the projection's own data, even beside a projection whose name extends it", async () => {
        const suffix = randomUUID().slice(0, 8);
        const [pipe, pipeline] = [`pipe${suffix}`, `pipe${suffix}line`];
        const data = (p: string) => [
          put(`${p}:deal`, 'a', { p }),
          put(`${p}:deal:archive`, 'a', { p }),
          increment(`${p}:totals`, 'n', 1),
          index(`${p}:activity`, 'a', 1),
        ];
        await store.commit(pipe, data(pipe), checkpointAt(1n));
        await store.commit(pipeline, data(pipeline), checkpointAt(2n));

        await store.reset(pipe);

        expect(await store.checkpoint(pipe)).toBeUndefined();
        expect(await store.get(`${pipe}:deal`, 'a')).toBeUndefined();
        expect(await store.get(`${pipe}:deal:archive`, 'a')).toBeUndefined();
        expect(await documents(store, `${pipe}:deal`)).toEqual([]);
        expect(await store.counters(`${pipe}:totals`)).toEqual({});
        expect(await store.count(`${pipe}:activity`)).toBe(0);

        expect(await store.checkpoint(pipeline)).toEqual(checkpointAt(2n));
        expect(await store.get(`${pipeline}:deal`, 'a')).toEqual({ p: pipeline });
        expect(await store.get(`${pipeline}:deal:archive`, 'a')).toEqual({ p: pipeline });
        expect(await store.counters(`${pipeline}:totals`)).toEqual({ n: 1 });
        expect(await store.range(`${pipeline}:activity`, { limit: 10 })).toEqual([entry('a', 1)]);

        // A projection starts again from nothing after a reset.
        await store.commit(pipe, [increment(`${pipe}:totals`, 'n', 1)], checkpointAt(3n));
        expect(await store.counters(`${pipe}:totals`)).toEqual({ n: 1 });
      });

      it('treats wildcard characters in a projection name literally', async () => {
        const suffix = randomUUID().slice(0, 8);
        const wild = `w%_*?[xy]${suffix}`;
        // What the name would match as a LIKE pattern, and as a glob pattern, were it not escaped.
        const tame = [`wAB*?[xy]${suffix}`, `w%_Qx${suffix}`];
        for (const p of [wild, ...tame]) await store.commit(p, [put(`${p}:deal`, 'a', {}), increment(`${p}:totals`, 'n', 1)], checkpointAt(1n));

        await store.reset(wild);

        expect(await store.get(`${wild}:deal`, 'a')).toBeUndefined();
        for (const p of tame) {
          expect(await store.get(`${p}:deal`, 'a')).toEqual({});
          expect(await store.counters(`${p}:totals`)).toEqual({ n: 1 });
          expect(await store.checkpoint(p)).toEqual(checkpointAt(1n));
        }
      });

      it('refuses a projection name with a colon, which would reach into other projections', async () => {
        await expect(store.reset('pipe:line')).rejects.toThrow(TypeError);
        await expect(store.commit('pipe:line', [], checkpointAt(1n))).rejects.toThrow(TypeError);
      });
    });
  });
}

/** A fresh projection name per test: tests never see each other's data, even on a shared server. */
function projectionName(): string {
  return `conformance${randomUUID().replaceAll('-', '')}`;
}

function checkpointAt(commit: bigint): Checkpoint {
  return { position: { commit, prepare: commit }, eventsProcessed: Number(commit), lastRecordedAt: `2025-01-01T00:00:00.${String(commit).padStart(3, '0')}Z` };
}

function put(collection: string, id: string, document: JsonObject): ReadModelChange {
  return { kind: 'put', collection, id, document };
}

function del(collection: string, id: string): ReadModelChange {
  return { kind: 'delete', collection, id };
}

function increment(counter: string, field: string, by: number): ReadModelChange {
  return { kind: 'increment', counter, field, by };
}

function index(name: string, member: string, score: number): ReadModelChange {
  return { kind: 'index', index: name, member, score };
}

function unindex(name: string, member: string): ReadModelChange {
  return { kind: 'unindex', index: name, member };
}

function entry(member: string, score: number): IndexEntry {
  return { member, score };
}

async function everything(store: ReadModelStore, name: string): Promise<IndexEntry[]> {
  return store.range(name, { limit: 10_000 });
}

async function documents(store: ReadModelStore, collection: string, pageSize?: number) {
  const all: Array<{ id: string; document: JsonObject }> = [];
  for await (const item of store.scan(collection, pageSize === undefined ? {} : { pageSize })) all.push(item);
  return all;
}
