import { describe, expect, it } from 'vitest';
import { ByteBudget } from '../../src/api/admission.js';

/** Lets every settled promise run its continuation. */
const settle = () => new Promise((r) => setImmediate(r));

describe('ByteBudget', () => {
  it('admits at once while the bytes fit, and makes the rest wait', async () => {
    const budget = new ByteBudget(100);
    const a = await budget.acquire(60);
    let admitted = false;
    const b = budget.acquire(60).then((release) => ((admitted = true), release));
    await settle();
    expect(admitted).toBe(false);
    expect(budget.inUse).toBe(60);
    a();
    const releaseB = await b;
    expect(admitted).toBe(true);
    expect(budget.inUse).toBe(60);
    releaseB();
    expect(budget.inUse).toBe(0);
  });

  it('admits a request larger than the whole budget, alone', async () => {
    const budget = new ByteBudget(100);
    const small = await budget.acquire(10);
    let big = false;
    const bigRelease = budget.acquire(500).then((release) => ((big = true), release));
    await settle();
    expect(big).toBe(false);
    small();
    (await bigRelease)();
    expect(big).toBe(true);
    expect(budget.inUse).toBe(0);
  });

  it('serves waiters first come, first served (a small one does not overtake a big one)', async () => {
    const budget = new ByteBudget(100);
    const first = await budget.acquire(90);
    const order: string[] = [];
    const big = budget.acquire(80).then((release) => (order.push('big'), release));
    const small = budget.acquire(5).then((release) => (order.push('small'), release));
    await settle();
    expect(order).toEqual([]);
    first();
    await big;
    await small;
    expect(order).toEqual(['big', 'small']);
  });

  it('gives bytes back once, however often release is called', async () => {
    const budget = new ByteBudget(100);
    const release = await budget.acquire(40);
    const other = await budget.acquire(40);
    release();
    release();
    expect(budget.inUse).toBe(40);
    other();
    expect(budget.inUse).toBe(0);
  });

  it('lets a growing reservation hold only what has arrived', async () => {
    const budget = new ByteBudget(100);
    const slow = budget.open();
    await slow.grow(5);
    // Others are admitted beside it at once: it holds 5 bytes, not what it may become.
    const other = await budget.acquire(90);
    expect(budget.inUse).toBe(95);
    other();
    slow.release();
    expect(budget.inUse).toBe(0);
  });

  it('never makes the oldest open reservation wait, so half-read bodies cannot deadlock', async () => {
    const budget = new ByteBudget(100);
    const first = budget.open();
    const second = budget.open();
    await first.grow(40);
    await second.grow(50);
    // The budget is nearly full: the younger one waits, the oldest goes on.
    let secondGrew = false;
    const waiting = second.grow(30).then(() => (secondGrew = true));
    await first.grow(30);
    await settle();
    expect(secondGrew).toBe(false);
    expect(budget.inUse).toBe(120);
    first.release();
    await waiting;
    expect(secondGrew).toBe(true);
    expect(budget.inUse).toBe(80);
    second.release();
    expect(budget.inUse).toBe(0);
  });

  it('releases a reservation whose growth still waits without counting that growth', async () => {
    const budget = new ByteBudget(100);
    const holder = await budget.acquire(90);
    const older = budget.open();
    const younger = budget.open();
    await older.grow(5);
    let done = false;
    const waiting = younger.grow(50).then(() => (done = true));
    await settle();
    expect(done).toBe(false);
    younger.release();
    await waiting;
    expect(budget.inUse).toBe(95);
    holder();
    older.release();
    expect(budget.inUse).toBe(0);
  });
});
