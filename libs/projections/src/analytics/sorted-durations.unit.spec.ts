import { seededRandom } from '@deals/platform';
import { SortedDurations } from './sorted-durations';

/** Every value of the durations, read rank by rank. */
const valuesOf = (durations: SortedDurations): number[] => Array.from({ length: durations.count }, (_, rank) => durations.at(rank));

describe('sorted durations, moved', () => {
  it('given values with ties, when some are taken out and others put in, then each rank reads the value a sorted copy holds there', () => {
    const durations = SortedDurations.of([5, 3, 3, 9, 1, 3, 7]).moved([3, 9], [4, 3, 0, 10]);
    expect(valuesOf(durations)).toEqual([0, 1, 3, 3, 3, 4, 5, 7, 10]);
    expect(durations.sumMs).toBe(36);
  });

  it('given a value put back after it was taken out, then nothing is held beside the sorted values', () => {
    const kept = SortedDurations.of(Array.from({ length: 5_000 }, (_, index) => index));
    const back = kept.moved([10, 20, 30], [11.5]).moved([11.5], [10, 20, 30]);
    expect(back.held).toBe(kept.held);
    expect(valuesOf(back)).toEqual(valuesOf(kept));
  });

  it('given many questions stepped back and forth, each moving a few values, then every rank, the count and the sum match a sorted copy at each step', () => {
    const random = seededRandom(11);
    // Whole milliseconds in a narrow range, so that ties are common.
    const draw = () => Math.floor(random() * 400);
    let truth = Array.from({ length: 3_000 }, draw);
    let durations = SortedDurations.of(truth);
    let folded = 0;
    for (let step = 0; step < 200; step++) {
      const out: number[] = [];
      for (let index = 0; index < 40 && truth.length > 0; index++) out.push(...truth.splice(Math.floor(random() * truth.length), 1));
      const into = Array.from({ length: Math.floor(random() * 60) }, draw);
      truth = [...truth, ...into];
      const before = durations.held;
      durations = durations.moved(out, into);
      if (durations.held < before) folded++;
      const sorted = [...truth].sort((a, b) => a - b);
      expect(durations.count).toBe(sorted.length);
      expect(durations.sumMs).toBe(sorted.reduce((sum, value) => sum + value, 0));
      expect(valuesOf(durations)).toEqual(sorted);
    }
    // The moved values passed the bound kept beside the sorted array, and were folded into a new one.
    expect(folded).toBeGreaterThan(0);
  });

  it('given a value taken out that it does not hold, then it refuses, also when the value was taken out already', () => {
    const durations = SortedDurations.of([1, 2, 2, 3]);
    expect(() => durations.moved([4], [])).toThrow('do not hold a duration');
    expect(() => durations.moved([2, 2, 2], [])).toThrow('do not hold a duration');
    expect(() => durations.moved([2], []).moved([2, 2], [])).toThrow('do not hold a duration');
    expect(valuesOf(durations.moved([2], [2]).moved([2, 2], []))).toEqual([1, 3]);
  });
});
