import { seededRandom } from '@deals/platform';
import { rememberedJson } from './remembered-json';

/** Plain data as answers hold it: nested objects and arrays, strings to escape, numbers, nulls, missing members. */
function randomValue(next: () => number, depth: number): unknown {
  const roll = next();
  if (depth > 3 || roll < 0.3) return [null, 0, -1.5, 1e21, 'a"b\\c\u2028', 'é', true, false][Math.floor(next() * 8)];
  if (roll < 0.4) return undefined;
  if (roll < 0.6) return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
  if (roll < 0.65) return new Date(Math.floor(next() * 2e12));
  return Object.fromEntries(Array.from({ length: Math.floor(next() * 5) }, (_, index) => [`k${index}"`, randomValue(next, depth + 1)]));
}

describe('remembered JSON', () => {
  it('given plain data of every shape, when written, then the text is what JSON.stringify writes', () => {
    const next = seededRandom(7);
    for (let round = 0; round < 500; round++) {
      const answer = Object.fromEntries(Array.from({ length: 1 + Math.floor(next() * 6) }, (_, index) => [`m${index}`, randomValue(next, 0)]));
      expect(rememberedJson(answer)).toBe(JSON.stringify(answer));
    }
  });

  it('given a part answered before, when it is answered again beside members made per ask, then its text is reused and theirs is new', () => {
    const stages = [{ stage: 'lead', count: 2 }];
    expect(rememberedJson({ now: 'one', stages })).toBe('{"now":"one","stages":[{"stage":"lead","count":2}]}');
    const stringify = jest.spyOn(JSON, 'stringify');

    const again = rememberedJson({ now: 'two', stages });

    expect(again).toBe('{"now":"two","stages":[{"stage":"lead","count":2}]}');
    expect(stringify).not.toHaveBeenCalledWith(stages);
    stringify.mockRestore();
  });
});
