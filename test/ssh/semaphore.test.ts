import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../src/ssh/semaphore.js';

describe('Semaphore', () => {
  it('never lets more than the limit run and serves waiters in order', async () => {
    const semaphore = new Semaphore(3);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        semaphore.run(async () => {
          order.push(i);
          running += 1;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 5));
          running -= 1;
        }),
      ),
    );
    expect(most).toBe(3);
    expect(semaphore.highWater).toBe(3);
    expect(order).toEqual([...Array(12).keys()]);
    expect(semaphore.inUse).toBe(0);
  });

  it('releases a slot once even when release is called twice, and on a throwing task', async () => {
    const semaphore = new Semaphore(1);
    const release = await semaphore.acquire();
    release();
    release();
    expect(semaphore.inUse).toBe(0);
    await expect(semaphore.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(semaphore.inUse).toBe(0);
  });

  it('rejects a nonsensical limit', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
