// childLogger: a child made on first use still carries its bindings, at every level its parent writes.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { childLogger } from '../../src/core/logger.js';

function capture(level: string): { log: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  return { log: pino({ level }, sink), lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

describe('childLogger', () => {
  it('writes with the bindings at the levels its parent writes, nothing below', () => {
    const { log, lines } = capture('info');
    const child = childLogger(log, { client: 7 });
    child.debug({ a: 1 }, 'below the level');
    child.info({ a: 2 }, 'kept');
    const level: 'warn' | 'info' = 'warn';
    child[level]('by name');
    childLogger(child, { sub: 3 }).error('nested');
    expect(lines().map((l) => [l.msg, l.client, l.sub])).toEqual([
      ['kept', 7, undefined],
      ['by name', 7, undefined],
      ['nested', 7, 3],
    ]);
    expect(child.isLevelEnabled('debug')).toBe(false);
    expect(child.level).toBe('info');
  });

  it('is its parent when the parent writes nothing', () => {
    const { log } = capture('silent');
    expect(childLogger(log, { client: 1 })).toBe(log);
  });
});
