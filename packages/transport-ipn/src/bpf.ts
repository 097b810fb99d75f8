// Compiles bloom masks into a classic BPF socket filter over the header
// prefix, for the kernel backend: the kernel then never wakes a member for a
// broadcast none of its masks match.
import native from '@ipnbus/native';
import { BLOOM_BYTES } from './network.js';
import { BLOOM_OFFSET } from './header.js';

const c = native.constants;
const LD_W_ABS = c.BPF_LD! | c.BPF_W! | c.BPF_ABS!;
const AND_K = c.BPF_ALU! | c.BPF_AND! | c.BPF_K!;
const JEQ_K = c.BPF_JMP! | c.BPF_JEQ! | c.BPF_K!;
const RET_K = c.BPF_RET! | c.BPF_K!;
const ACCEPT = 0xffffffff;
/** Classic BPF caps a program at 4096 instructions. */
const MAX_INSNS = 4096;

export interface Insn { code: number; jt: number; jf: number; k: number }

/**
 * For each mask, for each non-zero 32-bit word w of it: load the bloom word
 * (BPF loads are big-endian, so the mask word is read big-endian too), AND w,
 * compare with w; any mismatch jumps to the next mask. A mask passing all its
 * words accepts. Falling off the last mask rejects. An all-zero mask accepts
 * everything. Returns null when the program would be too long (then the
 * caller filters in user space instead).
 */
export function compileBloomFilter(masks: readonly Uint8Array[]): Insn[] | null {
  const blocks: Insn[][] = [];
  /** Instructions so far, the final reject included. */
  let length = 1;
  for (const m of masks) {
    const b = Buffer.from(m.buffer, m.byteOffset, m.byteLength);
    const block: Insn[] = [];
    for (let w = 0; w < BLOOM_BYTES / 4; w++) {
      const k = b.readUInt32BE(w * 4);
      if (k === 0) continue;
      // jf targets patched below, once the block length is known.
      block.push({ code: LD_W_ABS, jt: 0, jf: 0, k: BLOOM_OFFSET + w * 4 });
      block.push({ code: AND_K, jt: 0, jf: 0, k });
      block.push({ code: JEQ_K, jt: 0, jf: 0, k });
    }
    block.push({ code: RET_K, jt: 0, jf: 0, k: ACCEPT });
    // Stop as soon as it cannot fit: a filter of 10,000 masks is refused
    // after its first few hundred, not after compiling all of them.
    if ((length += block.length) > MAX_INSNS) return null;
    blocks.push(block);
  }
  const prog: Insn[] = [];
  for (const block of blocks) {
    for (let i = 0; i < block.length; i++) {
      const ins = block[i]!;
      if (ins.code === JEQ_K) {
        // On mismatch skip to the first instruction after this block.
        const jf = block.length - 1 - i;
        if (jf > 255) return null;
        ins.jf = jf;
      }
      prog.push(ins);
    }
  }
  prog.push({ code: RET_K, jt: 0, jf: 0, k: 0 });
  return prog;
}
