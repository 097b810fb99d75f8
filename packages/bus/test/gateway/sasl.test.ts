// The gateway's SASL server state machine, line by line, as stock clients drive it.
import { describe, expect, it } from 'vitest';
import { SaslServer } from '../../src/gateway/sasl.js';

const GUID = '0123456789abcdef0123456789abcdef';
const hexUid = (uid: number): string => Buffer.from(String(uid), 'ascii').toString('hex');

function server(over: Partial<ConstructorParameters<typeof SaslServer>[0]> = {}): SaslServer {
  return new SaslServer({ guid: GUID, peerUid: 1000, unixFdSupported: false, ...over });
}

const feed = (s: SaslServer, text: string) => s.feed(Buffer.from(text, 'latin1'));

describe('gateway SASL server', () => {
  it('accepts AUTH EXTERNAL with the peer uid in hex and hands over the bytes after BEGIN', () => {
    const s = server();
    const a = feed(s, `\0AUTH EXTERNAL ${hexUid(1000)}\r\n`);
    expect(a.replies).toEqual([`OK ${GUID}`]);
    const b = feed(s, 'BEGIN\r\nl\x01\x00\x01');
    expect(b.begun?.rest).toEqual(Buffer.from('l\x01\x00\x01', 'latin1'));
    expect(b.begun?.unixFds).toBe(false);
    expect(s.authorizedUid).toBe(1000);
  });

  it('handles the pipelined sd-bus style handshake in one chunk, split at any byte', () => {
    const text = '\0AUTH EXTERNAL\r\nDATA\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\nXY';
    for (let cut = 0; cut <= text.length; cut++) {
      const s = server();
      const r1 = feed(s, text.slice(0, cut));
      const r2 = feed(s, text.slice(cut));
      expect([...r1.replies, ...r2.replies]).toEqual(['DATA', `OK ${GUID}`, 'ERROR "unix fd passing is not supported by this server"']);
      // Once BEGIN is seen the caller owns what follows, in this chunk or the next.
      const after = r1.begun ? r1.begun.rest.toString() + text.slice(cut) : r2.begun?.rest.toString();
      expect(after).toBe('XY');
    }
  });

  it('agrees to unix fds when supported', () => {
    const s = server({ unixFdSupported: true });
    expect(feed(s, `\0AUTH EXTERNAL ${hexUid(1000)}\r\nNEGOTIATE_UNIX_FD\r\n`).replies).toEqual([`OK ${GUID}`, 'AGREE_UNIX_FD']);
    expect(feed(s, 'BEGIN\r\n').begun?.unixFds).toBe(true);
  });

  it('answers AUTH without mechanism and unknown mechanisms with REJECTED EXTERNAL', () => {
    const s = server();
    expect(feed(s, '\0AUTH\r\n').replies).toEqual(['REJECTED EXTERNAL']);
    expect(feed(s, 'AUTH ANONYMOUS 6e6f626f6479\r\n').replies).toEqual(['REJECTED EXTERNAL']);
    expect(feed(s, 'AUTH DBUS_COOKIE_SHA1 30\r\n').replies).toEqual(['REJECTED EXTERNAL']);
    // Still usable after rejections.
    expect(feed(s, `AUTH EXTERNAL ${hexUid(1000)}\r\n`).replies).toEqual([`OK ${GUID}`]);
  });

  it('rejects a uid that is not the peer\'s, and bad hex', () => {
    const s = server();
    expect(feed(s, `\0AUTH EXTERNAL ${hexUid(0)}\r\n`).replies).toEqual(['REJECTED EXTERNAL']);
    expect(feed(s, 'AUTH EXTERNAL zz\r\n').replies[0]).toMatch(/^ERROR/);
    expect(feed(s, `AUTH EXTERNAL ${Buffer.from('10x0').toString('hex')}\r\n`).replies).toEqual(['REJECTED EXTERNAL']);
    expect(s.authorizedUid).toBeUndefined();
  });

  it('rejects EXTERNAL when the peer credentials are unknown', () => {
    const s = server({ peerUid: undefined });
    expect(feed(s, '\0AUTH EXTERNAL\r\nDATA\r\n').replies).toEqual(['DATA', 'REJECTED EXTERNAL']);
  });

  it('CANCEL and ERROR go back to the start; DATA/CANCEL outside a conversation is an ERROR', () => {
    const s = server();
    expect(feed(s, '\0DATA 00\r\n').replies[0]).toMatch(/^ERROR/);
    expect(feed(s, 'CANCEL\r\n').replies[0]).toMatch(/^ERROR/);
    expect(feed(s, 'AUTH EXTERNAL\r\nCANCEL\r\n').replies).toEqual(['DATA', 'REJECTED EXTERNAL']);
    expect(feed(s, `AUTH EXTERNAL ${hexUid(1000)}\r\nERROR "changed my mind"\r\n`).replies).toEqual([`OK ${GUID}`, 'REJECTED EXTERNAL']);
    expect(feed(s, 'BEGIN\r\n').close).toBe('BEGIN before authentication');
  });

  it('NEGOTIATE_UNIX_FD before OK is an ERROR', () => {
    const s = server({ unixFdSupported: true });
    expect(feed(s, '\0NEGOTIATE_UNIX_FD\r\n').replies[0]).toMatch(/^ERROR/);
  });

  it('drops a client whose first byte is not NUL', () => {
    expect(feed(server(), 'AUTH EXTERNAL 30\r\n').close).toMatch(/NUL/);
  });

  it('drops a client after too many failures, replying to each before that', () => {
    const s = server({ maxFailures: 3 });
    const r = feed(s, '\0garbage\r\nmore garbage\r\nAUTH\r\nAUTH\r\n');
    expect(r.replies).toHaveLength(3);
    expect(r.close).toMatch(/too many/);
    expect(feed(s, 'AUTH\r\n').replies).toEqual([]);
  });

  it('drops binary garbage and overlong lines', () => {
    const s = server({ maxFailures: 1 });
    expect(feed(s, '\0\x01\x02\xff\r\n').close).toMatch(/too many/);
    const t = server({ maxLineBytes: 64 });
    expect(feed(t, '\0' + 'A'.repeat(100)).close).toMatch(/too long/);
  });
});
