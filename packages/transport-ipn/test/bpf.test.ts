// The bloom socket filter compiler, checked against the plain matcher by
// running the generated classic BPF on random headers (a tiny interpreter of
// the four instructions it emits), so a wrong jump or byte order shows here
// and not only inside the VM.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bloomMatches, compileBloomFilter, BLOOM_OFFSET, HEADER_BYTES } from '../src/index.js';
import type { Insn } from '../src/bpf.js';

function run(prog: Insn[], pkt: Buffer): number {
  let a = 0;
  for (let pc = 0; pc < prog.length; ) {
    const i = prog[pc]!;
    switch (i.code) {
      case 0x20: // ld w abs
        if (i.k + 4 > pkt.length) return 0;
        a = pkt.readUInt32BE(i.k);
        pc++;
        break;
      case 0x54: // alu and k
        a = (a & i.k) >>> 0;
        pc++;
        break;
      case 0x15: // jeq k
        pc += 1 + (a === i.k ? i.jt : i.jf);
        break;
      case 0x06: // ret k
        return i.k;
      default:
        throw new Error(`unexpected opcode ${i.code}`);
    }
  }
  throw new Error('fell off the program');
}

const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
// Sparse masks, like real bloom masks (a few bits each).
const mask16 = fc.array(fc.nat(127), { minLength: 1, maxLength: 6 }).map((bits) => {
  const m = new Uint8Array(16);
  for (const b of bits) m[b >> 3]! |= 1 << (b & 7);
  return m;
});

describe('compileBloomFilter', () => {
  it('accepts exactly what bloomMatches accepts', () => {
    fc.assert(
      fc.property(fc.array(mask16, { minLength: 1, maxLength: 8 }), bytes16, fc.boolean(), (masks, bloom, hit) => {
        // Half the cases: a bloom built to satisfy one mask.
        const b = hit ? Uint8Array.from(bloom, (v, i) => v | masks[0]![i]!) : bloom;
        const pkt = Buffer.alloc(HEADER_BYTES + 4);
        pkt.set(b, BLOOM_OFFSET);
        const prog = compileBloomFilter(masks);
        expect(prog).not.toBeNull();
        expect(run(prog!, pkt) !== 0).toBe(bloomMatches(b, masks));
      }),
      { numRuns: 2000 },
    );
  });

  it('passes all-ones (unicast, unbloomed) and rejects short datagrams', () => {
    const prog = compileBloomFilter([Uint8Array.from({ length: 16 }, () => 0x5a)])!;
    const pkt = Buffer.alloc(HEADER_BYTES);
    pkt.fill(0xff, BLOOM_OFFSET, BLOOM_OFFSET + 16);
    expect(run(prog, pkt)).not.toBe(0);
    expect(run(prog, Buffer.alloc(10))).toBe(0);
  });

  it('gives up (null) rather than emit a program the kernel would refuse', () => {
    const many = Array.from({ length: 400 }, () => Uint8Array.from({ length: 16 }, () => 0xff));
    expect(compileBloomFilter(many)).toBeNull();
  });

  it('fits up to 4,096 instructions exactly, and stops reading masks once past them', () => {
    const full = (): Uint8Array => Uint8Array.from({ length: 16 }, () => 0xff);
    // A mask of four non-zero words is 13 instructions, plus the final reject.
    expect(compileBloomFilter(Array.from({ length: 315 }, full))).toHaveLength(315 * 13 + 1);
    expect(compileBloomFilter(Array.from({ length: 316 }, full))).toBeNull();
    // 10,000 masks (a client's 10,000 rules): it gives up after the first
    // few hundred; nothing past them is looked at (they would throw here).
    const huge = Array.from({ length: 10_000 }, (_, i) => (i < 400 ? full() : (null as unknown as Uint8Array)));
    expect(compileBloomFilter(huge)).toBeNull();
  });
});
