import { KeyedMutex } from './keyed-mutex';

describe('KeyedMutex', () => {
  it('runs tasks of one key one after another, in arrival order', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    const task = (name: string, ticks: number) => async () => {
      log.push(`${name} start`);
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      log.push(`${name} end`);
      return name;
    };
    const results = await Promise.all([mutex.run('deal-1', task('a', 3)), mutex.run('deal-1', task('b', 1))]);
    expect(results).toEqual(['a', 'b']);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end']);
  });

  it('lets tasks of different keys overlap', async () => {
    const mutex = new KeyedMutex();
    let release: () => void = () => undefined;
    const blocked = mutex.run('deal-1', () => new Promise<void>((resolve) => (release = resolve)));
    await expect(mutex.run('deal-2', async () => 'ran')).resolves.toBe('ran');
    release();
    await blocked;
  });

  it('goes on with the next task after one fails', async () => {
    const mutex = new KeyedMutex();
    const failed = mutex.run('deal-1', async () => {
      throw new Error('refused');
    });
    const next = mutex.run('deal-1', async () => 'next');
    await expect(failed).rejects.toThrow('refused');
    await expect(next).resolves.toBe('next');
  });
});
