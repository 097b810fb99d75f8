// The user backend's order buffer: delivery by number, stable among equal
// numbers, and safe against listeners that add or take while it hands out.
import { describe, expect, it } from 'vitest';
import { OrderBuffer } from '../src/order.js';

function takeAll<T>(b: OrderBuffer<T>, horizon: number): T[] {
  const out: T[] = [];
  b.take(horizon, (x) => out.push(x) > 0);
  return out;
}

describe('OrderBuffer', () => {
  it('hands out by number up to the horizon, equal numbers in arrival order, the rest kept', () => {
    const b = new OrderBuffer<string>();
    for (const [seq, v] of [[3, 'c1'], [1, 'a'], [3, 'c2'], [2, 'b'], [5, 'e'], [3, 'c3']] as const) b.add(seq, v);
    expect(b.maxSeen).toBe(5);
    expect(takeAll(b, 3)).toEqual(['a', 'b', 'c1', 'c2', 'c3']);
    expect(b.size).toBe(1);
    b.add(4, 'd');
    expect(takeAll(b, 10)).toEqual(['d', 'e']);
    expect(b.size).toBe(0);
    expect(takeAll(b, 10)).toEqual([]);
  });

  it('stops when the visitor says so and keeps what is left in order', () => {
    const b = new OrderBuffer<number>();
    for (let i = 1; i <= 5; i++) b.add(i, i);
    const seen: number[] = [];
    b.take(5, (x) => {
      seen.push(x);
      return x < 2;
    });
    expect(seen).toEqual([1, 2]);
    expect(takeAll(b, 5)).toEqual([3, 4, 5]);
  });

  it('entries a visitor adds wait for the next take; a nested take delivers the rest in order', () => {
    const b = new OrderBuffer<string>();
    b.add(1, 'a');
    b.add(2, 'b');
    b.add(3, 'c');
    const seen: string[] = [];
    b.take(3, (x) => {
      seen.push(x);
      if (x === 'a') b.add(1, 'loop');
      return true;
    });
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(takeAll(b, 3)).toEqual(['loop']);

    for (const [i, v] of ['p', 'q', 'r', 's'].entries()) b.add(i + 10, v);
    const outer: string[] = [];
    b.take(12, (x) => {
      outer.push(x);
      if (x === 'p') b.take(20, (y) => outer.push(`nested ${y}`) > 0);
      return true;
    });
    expect(outer).toEqual(['p', 'nested q', 'nested r', 'nested s']);
    expect(b.size).toBe(0);
  });

  it('keeps order across many takes that leave a tail (compaction)', () => {
    const b = new OrderBuffer<number>();
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300; i++) b.add(next, next++);
      b.take(next - 100, (x) => out.push(x) > 0);
    }
    b.take(Infinity, (x) => out.push(x) > 0);
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i));
  });
});
