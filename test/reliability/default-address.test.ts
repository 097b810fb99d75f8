// The default address without XDG_RUNTIME_DIR: the fallback directory is ours alone (0700), or connect refuses it.
import { fork } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKEND } from '../../packages/bus/test/core/helpers/bus.js';
import { connect, DBusError, ErrorNames, type Connection } from '../../packages/bus/src/core/index.js';

const SQUATTER = fileURLToPath(new URL('./helpers/squatter.mjs', import.meta.url));
const uid = process.getuid!();
/** The uid that squats: nobody, as on any Debian system. */
const OTHER_UID = 65534;

/** The variables the default address reads; restored one by one (process.env must stay the real environment). */
const KEYS = ['XDG_RUNTIME_DIR', 'IPNBUS_ADDRESS', 'TMPDIR'] as const;
const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
const BASE = tmpdir();
let scratch: string;
let fallback: string;

/** connect() with the default address; the error it fails with, or undefined and the connection. */
async function connectDefault(): Promise<{ error?: DBusError; conn?: Connection }> {
  try {
    return { conn: await connect({ backend: BACKEND }) };
  } catch (e) {
    return { error: e as DBusError };
  }
}

beforeEach(() => {
  // A private stand-in for /tmp (world-writable and sticky, as /tmp is), named by TMPDIR.
  scratch = mkdtempSync(join(BASE, 'ipnbus-default-'));
  chmodSync(scratch, 0o1777);
  delete process.env.XDG_RUNTIME_DIR;
  delete process.env.IPNBUS_ADDRESS;
  process.env.TMPDIR = scratch;
  fallback = join(scratch, `ipnbus-${uid}`);
});

afterEach(() => {
  for (const k of KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  rmSync(scratch, { recursive: true, force: true });
});

describe('the fallback runtime directory ($TMPDIR/ipnbus-<uid>)', () => {
  it('is created mode 0700 and used when absent', async () => {
    const { conn, error } = await connectDefault();
    expect(error).toBeUndefined();
    conn!.disconnect();
    expect(statSync(fallback).mode & 0o777).toBe(0o700);
    expect(statSync(fallback).uid).toBe(uid);
  });

  it('is refused when others may write to it, even if it is ours', async () => {
    mkdirSync(fallback, { mode: 0o700 });
    chmodSync(fallback, 0o777);
    const { conn, error } = await connectDefault();
    conn?.disconnect();
    expect(error).toBeInstanceOf(DBusError);
    expect(error!.name).toBe(ErrorNames.AccessDenied);
    expect(error!.message).toContain(fallback);
    expect(error!.message).toContain('mode 0777');
    expect(error!.message).toContain('writable by others');
  });

  it('is refused when it is a symbolic link', async () => {
    const elsewhere = join(scratch, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    symlinkSync(elsewhere, fallback);
    const { conn, error } = await connectDefault();
    conn?.disconnect();
    expect(error?.name).toBe(ErrorNames.AccessDenied);
    expect(error!.message).toContain('symbolic link');
  });

  describe.skipIf(uid !== 0)('made first by another user (needs root to act as a second uid)', () => {
    it('is refused, naming the path and its owner, and the squatter sees nothing', async () => {
      const squatter = fork(SQUATTER, [fallback], {
        uid: OTHER_UID,
        gid: OTHER_UID,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const stolen: unknown[] = [];
      try {
        await new Promise<void>((resolve, reject) => {
          squatter.on('message', (m: { type: string; body?: unknown }) => {
            if (m.type === 'ready') resolve();
            if (m.type === 'stolen') stolen.push(m.body);
          });
          squatter.once('exit', (code) => reject(new Error(`squatter exited (${code})`)));
        });
        expect(statSync(fallback).uid).toBe(OTHER_UID);
        const { conn, error } = await connectDefault();
        if (conn !== undefined) {
          // The old behaviour: we joined the squatter's bus. Show what it gets.
          conn.emitSignal('/org/example', 'org.example.Secret', 'Token', 's', ['password=hunter2']);
          const deadline = Date.now() + 2000;
          while (stolen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
          conn.disconnect();
        }
        console.log(`squatted ${fallback} (uid ${OTHER_UID}, mode 0777): connect ${error ? `refused: ${error.message}` : 'joined it'}; squatter read ${JSON.stringify(stolen)}`);
        expect(stolen).toEqual([]);
        expect(error).toBeInstanceOf(DBusError);
        expect(error!.name).toBe(ErrorNames.AccessDenied);
        expect(error!.message).toContain(fallback);
        expect(error!.message).toContain(`uid ${OTHER_UID}`);
      } finally {
        squatter.kill('SIGKILL');
      }
    });
  });
});
