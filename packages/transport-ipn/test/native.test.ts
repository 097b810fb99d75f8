// The addon's own contract: errno errors, cheap EAGAIN, fan-out results,
// fds and credentials over SEQPACKET, flock, and libuv readiness.
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import native from '@ipnbus/native';

const C = native.constants;
const dir = mkdtempSync(join(tmpdir(), 'ipnbus-native-'));
const opened: number[] = [];

function sock(): number {
  const fd = native.socket(C.AF_UNIX!, C.SOCK_SEQPACKET!, 0);
  opened.push(fd);
  return fd;
}

/** A connected SEQPACKET pair through a real listener. */
function pair(name: string): [number, number] {
  const l = sock();
  native.bindUnix(l, join(dir, name));
  native.listen(l, 8);
  const a = sock();
  expect(native.connectUnix(a, join(dir, name))).toBe(0);
  const b = native.accept(l);
  expect(b).toBeGreaterThan(0);
  opened.push(b);
  return [a, b];
}

afterAll(() => {
  for (const fd of opened) {
    try {
      closeSync(fd);
    } catch {
      // already closed by the test
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('@ipnbus/native', () => {
  it('throws errno errors with code and syscall, TypeError for bad arguments', () => {
    const fd = sock();
    expect(() => native.bindUnix(fd, join(dir, 'no', 'such', 'dir'))).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'bind' }),
    );
    expect(() => native.connectUnix(fd, join(dir, 'absent'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => native.socket('x' as unknown as number, 0, 0)).toThrow(TypeError);
    expect(() => native.recvmmsg(fd, 0, 1024)).toThrow(TypeError);
    expect(() => native.accept(fd)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'accept4' }));
    const l = sock();
    native.bindUnix(l, join(dir, 'idle'));
    native.listen(l, 4);
    expect(native.accept(l)).toBe(-C.EAGAIN!);
  });

  it('sends with cheap EAGAIN, fans out with per-socket results, batches receives', () => {
    const [a, b] = pair('p1');
    const [c, d] = pair('p2');
    const res = new Int32Array(2);
    expect(native.sendToMany(Int32Array.from([a, c]), [Buffer.from('he'), Buffer.from('llo')], C.MSG_DONTWAIT!, res)).toBe(2);
    expect([...res]).toEqual([5, 5]);
    for (const fd of [b, d]) {
      const got = native.recvmmsg(fd, 8, 4096);
      expect(got.length).toBe(1);
      expect(got[0]!.bytes.toString()).toBe('hello');
    }
    // Fill a's buffer: the answer becomes -EAGAIN, not an exception.
    const big = Buffer.alloc(60_000);
    let r = 0;
    for (let i = 0; i < 10_000 && r >= 0; i++) r = native.sendmsg(a, big, C.AF_UNIX!, null, null, C.MSG_DONTWAIT!);
    expect(r).toBe(-C.EAGAIN!);
    // Everything queued comes back in batches.
    let total = 0;
    for (let batch = native.recvmmsg(b, 64, 65536); batch.length > 0; batch = native.recvmmsg(b, 64, 65536)) {
      total += batch.length;
      for (const m of batch) expect(m.bytes.length).toBe(60_000);
    }
    expect(total).toBeGreaterThan(1);
  });

  it('passes fds and reports peer credentials', () => {
    const [a, b] = pair('p3');
    const file = join(dir, 'f');
    writeFileSync(file, 'through the socket');
    const fd = openSync(file, 'r');
    expect(native.sendmsg(a, Buffer.from('x'), C.AF_UNIX!, null, [fd], 0)).toBe(1);
    closeSync(fd);
    const [m] = native.recvmmsg(b, 4, 1024);
    expect(m!.fds.length).toBe(1);
    const buf = Buffer.alloc(64);
    const n = readSync(m!.fds[0]!, buf, 0, 64, 0);
    closeSync(m!.fds[0]!);
    expect(buf.subarray(0, n).toString()).toBe('through the socket');
    expect(native.peerCred(b)).toEqual({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() });
  });

  it('names every errno: 253 fds pass, 254 are refused as ETOOMANYREFS (a name libuv lacks)', () => {
    const [a, b] = pair('fds');
    const fd = openSync(join(dir, 'fd-file'), 'w');
    opened.push(fd);
    expect(native.sendmsg(a, Buffer.from('x'), C.AF_UNIX, null, Array<number>(253).fill(fd), C.MSG_DONTWAIT)).toBe(1);
    const got = native.recvmmsg(b, 1, 1024)[0]!;
    expect(got.fds.length).toBe(253);
    for (const f of got.fds) closeSync(f);
    expect(() => native.sendmsg(a, Buffer.from('x'), C.AF_UNIX, null, Array<number>(254).fill(fd), C.MSG_DONTWAIT))
      .toThrow(expect.objectContaining({ code: 'ETOOMANYREFS', errno: -109, syscall: 'sendmsg' }));
  });

  it('exports exactly the constants index.d.ts declares; the packed layouts (layout.h) are whole rows and single-bit flags', () => {
    // layout.h and index.d.ts are the two sides of one contract: JavaScript
    // reads rows and flags only by these names, so a name one side lacks,
    // or two columns or flags sharing a value, would misread every datagram.
    const dts = readFileSync(new URL('../../../native/index.d.ts', import.meta.url), 'utf8');
    const union = /export type SyscallConstant =([^;]*);/.exec(dts)![1]!;
    const layout = /export interface LayoutConstants \{([^}]*)\}/.exec(dts)![1]!;
    const declared = [
      ...Array.from(union.matchAll(/'([A-Z0-9_]+)'/g), (m) => m[1]!),
      ...Array.from(layout.matchAll(/^\s*([A-Z0-9_]+): number;/gm), (m) => m[1]!),
      'IPN_FAMILY_SYSFS',
    ];
    expect(Object.keys(C).sort()).toEqual([...new Set(declared)].sort());
    const columns = (prefix: string, row: number): void => {
      const cols = Object.entries(C).filter(([k]) => k.startsWith(prefix) && k !== `${prefix}ROW`).map(([, v]) => v);
      expect(cols.sort((x, y) => Number(x) - Number(y))).toEqual(Array.from({ length: row }, (_, i) => i));
    };
    columns('PACKED_MESH_', C.PACKED_MESH_ROW);
    columns('PACKED_IPN_', C.PACKED_IPN_ROW);
    const singleBits = (names: Array<keyof typeof C>): void => {
      const values = names.map((n) => C[n] as number);
      for (const v of values) expect(v > 0 && (v & (v - 1)) === 0).toBe(true);
      expect(new Set(values).size).toBe(values.length);
    };
    singleBits(['PACKED_TRUNCATED', 'PACKED_EOF', 'PACKED_NOTIFY', 'PACKED_MORE', 'PACKED_PASS_END', 'PACKED_HAS_CREDS']);
    singleBits(['POLL_READABLE', 'POLL_WRITABLE', 'POLL_DISCONNECT']);
  });

  it('flock reports contention without blocking', () => {
    const file = join(dir, 'lock');
    writeFileSync(file, '');
    const f1 = openSync(file, 'r+');
    const f2 = openSync(file, 'r+');
    expect(native.flock(f1, C.LOCK_EX! | C.LOCK_NB!)).toBe(0);
    expect(native.flock(f2, C.LOCK_EX! | C.LOCK_NB!)).toBe(-C.EWOULDBLOCK!);
    expect(native.flock(f1, C.LOCK_UN!)).toBe(0);
    expect(native.flock(f2, C.LOCK_EX! | C.LOCK_NB!)).toBe(0);
    closeSync(f1);
    closeSync(f2);
  });

  it('Poller calls back when a socket becomes readable', async () => {
    const [a, b] = pair('p4');
    const p = new native.Poller();
    const ev = await new Promise<number>((resolve) => {
      p.start(b, true, false, (_status, events) => {
        p.stop();
        resolve(events);
      });
      setTimeout(() => native.sendmsg(a, Buffer.from('wake'), C.AF_UNIX!, null, null, 0), 20);
    });
    p.close();
    expect(ev & 1).toBe(1);
    expect(native.recvmmsg(b, 4, 1024)[0]!.bytes.toString()).toBe('wake');
  });
});
