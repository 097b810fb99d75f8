// A native ipnbus service for the gateway tests, written on the core Connection (no stock library involved).
import { closeSync, readSync, writeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Connection } from '../../packages/bus/src/core/index.js';
import { MessageType, type Message } from '../../packages/bus/src/wire/index.js';
import { afterAll, beforeAll } from 'vitest';
import { BACKEND } from '../backend.mjs';
import { startTestBus, type TestBus } from './helpers.js';

export const SERVICE = 'com.example.Native';
export const IFACE = 'com.example.Native';
export const PATH = '/com/example/Native';

const DOCTYPE = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">`;

const OBJECT_XML = `${DOCTYPE}
<node>
  <interface name="${IFACE}">
    <method name="Echo"><arg name="text" type="s" direction="in"/><arg name="echo" type="s" direction="out"/></method>
    <method name="WhoAmI"><arg name="pid" type="u" direction="out"/><arg name="uid" type="u" direction="out"/><arg name="gid" type="u" direction="out"/></method>
    <method name="Fail"/>
    <method name="ReadFd"><arg name="fd" type="h" direction="in"/><arg name="text" type="s" direction="out"/></method>
    <method name="OpenFd"><arg name="text" type="s" direction="in"/><arg name="fd" type="h" direction="out"/></method>
    <signal name="Ping"><arg name="text" type="s"/></signal>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect"><arg name="xml" type="s" direction="out"/></method>
  </interface>
</node>`;

/** Intermediate nodes list their one child so `busctl tree` can walk down. */
function nodeXml(path: string): string | undefined {
  if (path === PATH) return OBJECT_XML;
  const parts = PATH.split('/').filter(Boolean);
  const have = path === '/' ? [] : path.split('/').filter(Boolean);
  if (have.length >= parts.length || have.some((p, i) => p !== parts[i])) return undefined;
  return `${DOCTYPE}\n<node>\n  <node name="${parts[have.length]}"/>\n</node>`;
}

export interface NativeService {
  conn: Connection;
  /** Signals received through the service's match rules. */
  signals: Message[];
  close(): void;
}

/**
 * Echo(s)->s, WhoAmI()->(uuu) with the caller's credentials as the bus
 * reports them, Fail() -> com.example.Error.Failed, Introspect on the
 * object and its parents.
 */
export async function startNativeService(busAddress: string): Promise<NativeService> {
  const conn = await connect({ address: busAddress, backend: BACKEND });
  const signals: Message[] = [];
  conn.on('message', (m: Message) => {
    if (m.type === MessageType.SIGNAL && m.sender !== 'org.freedesktop.DBus') signals.push(m);
  });
  conn.on('methodCall', ({ msg, fds }: { msg: Message; fds: number[] }) => {
    if (msg.member === 'ReadFd' && msg.signature === 'h') {
      // Read what the caller's fd holds: proves the fd itself crossed.
      const fd = fds[msg.body[0] as number];
      if (fd === undefined) return conn.replyError(msg, 'com.example.Error.NoFd', `no fd at index ${String(msg.body[0])} (got ${fds.length})`);
      const buf = Buffer.alloc(4096);
      const n = readSync(fd, buf, 0, buf.length, null);
      for (const f of fds) closeSync(f);
      return conn.reply(msg, 's', [buf.subarray(0, n).toString()]);
    }
    for (const f of fds) closeSync(f);
    if (msg.member === 'OpenFd' && msg.signature === 's') {
      // A fresh file holding the text, passed back as the reply's fd.
      const dir = mkdtempSync(join(tmpdir(), 'ipnbus-fd-'));
      const fd = openSync(join(dir, 'f'), 'w+');
      writeSync(fd, msg.body[0] as string, 0);
      rmSync(dir, { recursive: true });
      conn.reply(msg, 'h', [0], [fd]);
      closeSync(fd);
      return;
    }
    if (msg.interface === 'org.freedesktop.DBus.Introspectable' && msg.member === 'Introspect') {
      const xml = nodeXml(msg.path ?? '/');
      if (xml !== undefined) return conn.reply(msg, 's', [xml]);
      return conn.replyError(msg, 'org.freedesktop.DBus.Error.UnknownObject', `no object at ${msg.path}`);
    }
    if (msg.path !== PATH) return conn.replyError(msg, 'org.freedesktop.DBus.Error.UnknownObject', `no object at ${msg.path}`);
    if ((msg.interface === IFACE || msg.interface === undefined) && msg.member === 'Echo' && msg.signature === 's') {
      return conn.reply(msg, 's', [msg.body[0]]);
    }
    if ((msg.interface === IFACE || msg.interface === undefined) && msg.member === 'WhoAmI') {
      const c = conn.getCredentials(msg.sender!);
      if (c === undefined) return conn.replyError(msg, 'com.example.Error.NoCreds', 'no credentials');
      return conn.reply(msg, 'uuu', [c.pid, c.uid, c.gid]);
    }
    if (msg.member === 'Fail') return conn.replyError(msg, 'com.example.Error.Failed', 'failing as asked');
    return conn.replyError(msg, 'org.freedesktop.DBus.Error.UnknownMethod', `no method ${msg.member}`);
  });
  await conn.requestName(SERVICE, 0);
  return {
    conn,
    signals,
    close: () => conn.disconnect(),
  };
}

/** A test bus with the native service on it. */
export interface ServedBus {
  bus: TestBus;
  svc: NativeService;
}

/**
 * For a test file: a test bus (startTestBus's arguments) with the native
 * service on it, started before the file's tests and closed after them;
 * the fields are set once the file's first beforeAll has run.
 */
export function servedBusPerFile(...args: Parameters<typeof startTestBus>): ServedBus {
  const served = {} as ServedBus;
  beforeAll(async () => {
    served.bus = await startTestBus(...args);
    served.svc = await startNativeService(served.bus.busAddress);
  });
  afterAll(async () => {
    served.svc?.close();
    await served.bus?.close();
  });
  return served;
}
