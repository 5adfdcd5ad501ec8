import { describe, expect, it } from 'vitest';
import { Fifo } from '../../src/queue/fifo.js';

describe('Fifo', () => {
  it('gives items back in the order they came, across compactions', () => {
    const q = new Fifo<number>();
    const out: number[] = [];
    let next = 0;
    // Interleave pushes and shifts so the front is dropped many times while items remain.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3000; i++) q.push(next++);
      for (let i = 0; i < 2000; i++) out.push(q.shift()!);
      expect(q.length).toBe(next - out.length);
    }
    while (q.length > 0) out.push(q.shift()!);
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(q.shift()).toBeUndefined();
    expect(q.length).toBe(0);
  });

  it('drains and iterates what is left, oldest first', () => {
    const q = new Fifo<string>();
    for (const s of ['a', 'b', 'c', 'd']) q.push(s);
    expect(q.shift()).toBe('a');
    expect([...q]).toEqual(['b', 'c', 'd']);
    expect(q.drain()).toEqual(['b', 'c', 'd']);
    expect(q.length).toBe(0);
    expect([...q]).toEqual([]);
    q.push('e');
    expect(q.shift()).toBe('e');
  });
});
