import { RecentMap } from './recent-map';

function keysOf(map: RecentMap<number, number>, upTo: number): number[] {
  return Array.from({ length: upTo }, (_, key) => key).filter((key) => map.has(key));
}

describe('RecentMap', () => {
  it('keeps exactly its capacity when a sixteenth of it is less than one entry, dropping the oldest', () => {
    // Given a map of three
    const map = new RecentMap<string, number>(3);
    // When four keys are set
    for (const [index, key] of ['a', 'b', 'c', 'd'].entries()) map.set(key, index);
    // Then the first is gone and the rest are there
    expect(map.size).toBe(3);
    expect(map.has('a')).toBe(false);
    expect([map.get('b'), map.get('c'), map.get('d')]).toEqual([1, 2, 3]);
  });

  it('counts a key set again as the newest', () => {
    const map = new RecentMap<string, number>(2);
    map.set('a', 1).set('b', 2).set('a', 3);
    map.set('c', 4);
    expect(map.has('b')).toBe(false);
    expect(map.get('a')).toBe(3);
    expect(map.get('c')).toBe(4);
  });

  it('holds at least its capacity of the newest keys and at most a sixteenth more', () => {
    // Given a map of 1,600 (so up to 100 more)
    const map = new RecentMap<number, number>(1_600);
    const sizes: number[] = [];
    // When 5,000 keys are set, one after another
    for (let key = 0; key < 5_000; key++) {
      map.set(key, key);
      sizes.push(map.size);
    }
    // Then once full it never held fewer than 1,600 or more than 1,700
    expect(Math.min(...sizes.slice(1_600))).toBe(1_600);
    expect(Math.max(...sizes)).toBe(1_700);
    // And what it holds is exactly the newest keys
    const held = keysOf(map, 5_000);
    expect(held).toEqual(Array.from({ length: held.length }, (_, index) => 5_000 - held.length + index));
  });

  it('keeps a key set again while older keys go', () => {
    const map = new RecentMap<number, number>(16);
    for (let key = 0; key < 16; key++) map.set(key, key);
    for (let key = 16; key < 100; key++) {
      map.set(0, key); // the hot key, written again each time
      map.set(key, key);
    }
    expect(map.get(0)).toBe(99);
    expect(map.size).toBeLessThanOrEqual(17);
  });

  it('lists its values oldest first without making them newer', () => {
    const map = new RecentMap<string, number>(2);
    map.set('a', 1).set('b', 2);
    expect([...map.values()]).toEqual([1, 2]);
    map.set('c', 3);
    expect([...map.values()]).toEqual([2, 3]);
  });

  it('forgets a deleted key and everything on clear', () => {
    const map = new RecentMap<string, number>(4);
    map.set('a', 1).set('b', 2);
    expect(map.delete('a')).toBe(true);
    expect(map.has('a')).toBe(false);
    map.clear();
    expect(map.size).toBe(0);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a capacity of %p', (capacity) => {
    expect(() => new RecentMap(capacity)).toThrow(RangeError);
  });
});
