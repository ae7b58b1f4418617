import { setImmediate as nextTurn } from 'node:timers/promises';
import { TurnShared } from './turn-shared';

describe('TurnShared', () => {
  it('given two asks of one key in one turn, when they resolve, then one read answered both', async () => {
    const shared = new TurnShared<string, number>();
    let reads = 0;
    const read = async () => ++reads;

    const answers = await Promise.all([shared.get('a', read), shared.get('a', read)]);

    expect(answers).toEqual([1, 1]);
    expect(reads).toBe(1);
  });

  it('given a read in one turn, when the key is asked in the next, then it is read again', async () => {
    const shared = new TurnShared<string, number>();
    let reads = 0;
    const read = async () => ++reads;
    await shared.get('a', read);

    await nextTurn();

    expect(await shared.get('a', read)).toBe(2);
  });

  it('given two keys in one turn, when both are asked, then each is read once', async () => {
    const shared = new TurnShared<string, string>();
    const read = jest.fn(async () => 'x');

    await Promise.all([shared.get('a', read), shared.get('b', read), shared.get('b', read)]);

    expect(read).toHaveBeenCalledTimes(2);
  });

  it('given a read that fails, when asked again in the same turn, then the failure is shared, and the next turn reads afresh', async () => {
    const shared = new TurnShared<string, number>();
    let reads = 0;
    const read = async () => {
      reads++;
      if (reads === 1) throw new Error('store down');
      return reads;
    };

    await expect(Promise.all([shared.get('a', read), shared.get('a', read)])).rejects.toThrow('store down');
    await nextTurn();

    expect(await shared.get('a', read)).toBe(2);
  });
});
