// A hand-driven D-Bus client on a raw socket, to misbehave in ways no stock library will.
import { connect as netConnect, type Socket } from 'node:net';
import { encodeMessage, FrameReader, MessageType, type Message } from '../../packages/bus/src/wire/index.js';

export const hexUid = (): string => Buffer.from(String(process.getuid?.() ?? 0), 'ascii').toString('hex');

export class RawClient {
  readonly sock: Socket;
  text = '';
  messages: Message[] = [];
  closed = false;
  private frames: FrameReader | undefined;
  private serial = 0;
  private readonly closedP: Promise<void>;

  private constructor(sock: Socket) {
    this.sock = sock;
    this.closedP = new Promise((resolve) => sock.once('close', () => {
      this.closed = true;
      resolve();
    }));
    sock.on('error', () => undefined);
    sock.on('data', (d: Buffer) => {
      if (this.frames) this.messages.push(...this.frames.push(d));
      else this.text += d.toString('latin1');
    });
  }

  static connect(path: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = netConnect(path);
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  write(data: string | Buffer): void {
    this.sock.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Resolves once the gateway has closed the connection (or rejects after `ms`). */
  waitClosed(ms = 5000): Promise<void> {
    return Promise.race([
      this.closedP,
      new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`socket still open after ${ms} ms; got: ${JSON.stringify(this.text)}`)), ms)),
    ]);
  }

  async waitText(re: RegExp, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!re.test(this.text)) {
      if (Date.now() > end) throw new Error(`no ${re} in ${JSON.stringify(this.text)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async waitMessage(pred: (m: Message) => boolean, ms = 5000): Promise<Message> {
    const end = Date.now() + ms;
    for (;;) {
      const m = this.messages.find(pred);
      if (m) return m;
      if (Date.now() > end) throw new Error('expected message did not arrive');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** SASL EXTERNAL + BEGIN; from here on bytes are D-Bus messages. */
  async authenticate(): Promise<void> {
    this.write(`\0AUTH EXTERNAL ${hexUid()}\r\n`);
    await this.waitText(/^OK [0-9a-f]{32}\r\n/);
    this.begin();
  }

  /** BEGIN: from here on bytes are D-Bus messages. */
  begin(): void {
    this.frames = new FrameReader();
    this.write('BEGIN\r\n');
  }

  nextSerial(): number {
    return ++this.serial;
  }

  encode(msg: Partial<Message> & Pick<Message, 'type'>): Buffer {
    return encodeMessage({ flags: 0, signature: '', body: [], ...msg, serial: msg.serial ?? this.nextSerial() } as Message);
  }

  /** Hello; resolves with the unique name. */
  async hello(): Promise<string> {
    const serial = this.nextSerial();
    this.write(this.encode({
      type: MessageType.METHOD_CALL, serial, destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus', member: 'Hello',
    }));
    const reply = await this.waitMessage((m) => m.replySerial === serial);
    return reply.body[0] as string;
  }

  async call(destination: string, path: string, iface: string, member: string, signature = '', body: unknown[] = []): Promise<Message> {
    const serial = this.nextSerial();
    this.write(this.encode({ type: MessageType.METHOD_CALL, serial, destination, path, interface: iface, member, signature, body }));
    return this.waitMessage((m) => m.replySerial === serial);
  }

  destroy(): void {
    this.sock.destroy();
  }
}
