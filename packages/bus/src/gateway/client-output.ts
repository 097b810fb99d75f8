// What the gateway writes to one stock client: encoded, batched once per loop turn, fds kept with their message, the unread backlog bounded.
//
// The client (client.ts) decides what to write; this queue decides how it
// goes out. A client that does not read is not waited for: past
// limits.maxOutgoingBytes queued in the socket it is reported (tooSlow)
// and dropped by its owner, rather than growing memory or stalling the bus.
import type { Logger } from 'pino';
import { closeFds, SerialCounter } from '../core/index.js';
import { encodeMessage, type Message } from '../wire/index.js';
import type { ClientIO } from './client-io.js';
import type { GatewayLimits } from './options.js';

export interface ClientOutputInit {
  io: ClientIO;
  limits: GatewayLimits;
  log: Logger;
  /** May anything still be written (the client is neither closed nor gone)? */
  writable(): boolean;
  /** The serial of core's bus driver for this client, once it has an endpoint (Connection.busSerial). */
  busSerial(): number | undefined;
  /** The client does not read what it is sent: `reason` names the backlog and the limit. */
  tooSlow(reason: string): void;
}

export class ClientOutput {
  readonly #init: ClientOutputInit;
  #chunks: Array<{ buf: Buffer; fds: number[] }> = [];
  #flushScheduled = false;
  /** Serials for what the gateway writes before the client has an endpoint. */
  readonly #serials = new SerialCounter();

  constructor(init: ClientOutputInit) {
    this.#init = init;
  }

  /** Encode and queue for the client (the fds go with it and are closed once sent). */
  write(msg: Message, fds: number[] = []): void {
    if (!this.#init.writable()) {
      closeFds(fds);
      return;
    }
    // Serial 0 is invalid on the wire; keep the sender's serial otherwise so a
    // forwarded call's reply_serial names the caller's own serial. What the
    // gateway writes itself comes from org.freedesktop.DBus: it takes the
    // serials of core's driver for this client, so the bus's serials to it
    // never repeat.
    const out = msg.serial > 0 ? msg : { ...msg, serial: this.#init.busSerial() ?? this.#serials.next() };
    let bytes: Buffer;
    try {
      bytes = encodeMessage(out);
    } catch (err) {
      closeFds(fds);
      this.#init.log.warn({ err: String(err), member: msg.member }, 'could not encode a message for a client; dropped');
      return;
    }
    this.#chunks.push({ buf: bytes, fds });
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  /**
   * Writes go out once per loop turn, after libuv polled for input. Why:
   * a client like dbus-send sends its last message and exits as soon as it
   * has its Hello reply; a write to it after that fails with EPIPE, and
   * node then destroys the socket with that last message still unread.
   * Batching sends the Hello reply and NameAcquired in one write, and lets
   * input that already arrived be read before we write again.
   */
  readonly flush = (): void => {
    this.#flushScheduled = false;
    if (!this.#init.writable() || this.#chunks.length === 0) return;
    const { io, limits } = this.#init;
    const chunks = this.#chunks;
    this.#chunks = [];
    // Runs without fds go out as one write. A message with fds starts a
    // write of its own: receivers (GDBus) give all fds read so far to the
    // next message they complete, so fds must not arrive ahead of it.
    let run: Buffer[] = [];
    const writeRun = (): void => {
      if (run.length > 0) io.write(run.length === 1 ? run[0]! : Buffer.concat(run));
      run = [];
    };
    for (const c of chunks) {
      if (c.fds.length === 0) {
        run.push(c.buf);
        continue;
      }
      writeRun();
      io.write(c.buf, c.fds);
    }
    writeRun();
    // What the kernel would not take stays queued here: that backlog,
    // not one turn's burst, says whether the client keeps up.
    const queued = io.writableLength;
    if (queued > limits.maxOutgoingBytes) {
      this.#init.tooSlow(`client is not reading: ${queued} bytes queued (limit ${limits.maxOutgoingBytes})`);
    }
  };

  /** Bytes written for the client that it has not read yet (queued here or in the socket's write queue). */
  get backlogBytes(): number {
    let n = this.#init.io.writableLength;
    for (const c of this.#chunks) n += c.buf.length;
    return n;
  }

  /** Drops what is queued and not yet flushed, closing its fds (the client is closing). */
  discard(): void {
    for (const c of this.#chunks) closeFds(c.fds);
    this.#chunks = [];
  }
}
