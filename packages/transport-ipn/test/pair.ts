// Two members of one network in this process, and collecting what one gets:
// the setup of the coalescing tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { open, type IncomingMessage, type Network } from '../src/index.js';
import { BACKEND } from './member.js';

/** Both backends count what they coalesced. */
export type Coalescing = Network & { batchesSent: number; batchedMessages: number };

/** Opens two members at `path` on the test backend; resolves once each knows the other. */
export async function openPair(path: string, opts: Parameters<typeof open>[1] = {}): Promise<[Coalescing, Coalescing]> {
  const a = (await open(path, { backend: BACKEND, ...opts })) as Coalescing;
  let b: Coalescing;
  try {
    b = (await open(path, { backend: BACKEND, ...opts })) as Coalescing;
  } catch (err) {
    a.close();
    throw err;
  }
  // Both have seen each other (and, user backend, their hellos) once each reports the other.
  for (let i = 0; i < 200 && (a.members().length === 0 || b.members().length === 0); i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  return [a, b];
}

/**
 * For a test file: a fresh network per call in a temporary directory made
 * for the file, every member closed after each test and the directory
 * removed at the end.
 */
export function pairsPerTest(label: string): (opts?: Parameters<typeof open>[1]) => Promise<[Coalescing, Coalescing]> {
  let root = '';
  let nets: Network[] = [];
  let n = 0;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), `ipnbus-${label}-`));
  });
  afterEach(() => {
    for (const net of nets) net.close();
    nets = [];
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  return async (opts = {}) => {
    const both = await openPair(join(root, `bus${++n}`), opts);
    nets.push(...both);
    return both;
  };
}

/** The next `count` messages `net` receives; rejects with how many came after `timeoutMs`. */
export function collect(net: Network, count: number, timeoutMs = 5000): Promise<IncomingMessage[]> {
  const got: IncomingMessage[] = [];
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout: ${got.length} of ${count}`)), timeoutMs);
    net.on('message', (m) => {
      got.push(m);
      if (got.length === count) {
        clearTimeout(t);
        resolve(got);
      }
    });
  });
}

export const text = (m: IncomingMessage): string => m.bytes.toString();
