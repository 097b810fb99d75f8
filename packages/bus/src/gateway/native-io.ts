// A client socket driven by the addon: uv_poll for readiness, recvmsg/sendmsg with SCM_RIGHTS, so unix fds pass both ways.
import { EventEmitter } from 'node:events';
import { closeFds } from '../core/index.js';
import type { ClientIO, ClientIOEvents } from './client-io.js';
import type { GatewayAddon, NativePoller } from './native-addon.js';

const AF_UNIX = 1;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const UV_READABLE = 1;
const UV_WRITABLE = 2;
const UV_DISCONNECT = 4;
/** Per readiness event: up to 8 reads of 64 KiB, then back to the loop. */
const RECV_ROUNDS = 8;
const RECV_BYTES = 64 * 1024;

function errnoError(code: string, errno: number, syscall: string): NodeJS.ErrnoException {
  const e = new Error(`${syscall} ${code}`) as NodeJS.ErrnoException;
  e.code = code;
  e.errno = -errno;
  e.syscall = syscall;
  return e;
}

const ERRNO_NAMES: Record<number, string> = { 9: 'EBADF', 32: 'EPIPE', 104: 'ECONNRESET', 105: 'ENOBUFS', 107: 'ENOTCONN', 113: 'EHOSTUNREACH' };

/**
 * The accepted socket's fd, driven by the addon. Reading stops on pause();
 * a write that fails with EPIPE stops writing but keeps reading to the end,
 * so the client's last messages (dbus-send says its piece and exits) are
 * still delivered, as dbus-daemon does.
 */
export class NativeIO extends EventEmitter<ClientIOEvents> implements ClientIO {
  readonly supportsFds = true;
  readonly fd: number;
  private readonly native: GatewayAddon;
  private readonly poller: NativePoller;
  private reading = true;
  private out: Array<{ buf: Buffer; fds: number[] | null }> = [];
  private outBytes = 0;
  private writeDead = false;
  private ending = false;
  private closed = false;
  private sawEof = false;
  /** What the poller watches now (UV_READABLE | UV_WRITABLE bits; 0: stopped). */
  private armed = 0;
  private readonly onPoll = (status: number, events: number): void => this.poll(status, events);

  /** Drives `fd`, an accepted socket (non-blocking), and closes it in destroy(). */
  constructor(native: GatewayAddon, fd: number) {
    super();
    this.native = native;
    this.fd = fd;
    this.poller = new native.Poller();
    this.arm();
  }

  get writableLength(): number {
    return this.outBytes;
  }

  private arm(): void {
    if (this.closed) return;
    const writable = this.out.length > 0 && !this.writeDead;
    const want = (this.reading ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
    // uv_poll_start() takes the fd out of epoll and puts it back even when
    // nothing changed (two epoll_ctl calls): called after every read and
    // write, that was a third of a short-lived client's system calls.
    if (want === this.armed) return;
    try {
      if (want === 0) this.poller.stop();
      else this.poller.start(this.fd, this.reading, writable, this.onPoll);
      this.armed = want;
    } catch (e) {
      // Never throw into libuv's callback: report, and let the owner close us.
      queueMicrotask(() => this.emit('error', e as NodeJS.ErrnoException));
    }
  }

  private poll(status: number, events: number): void {
    if (this.closed) return;
    if (status < 0) {
      this.emit('error', errnoError(ERRNO_NAMES[-status] ?? 'EIO', -status, 'poll'));
      return;
    }
    if (events & UV_WRITABLE) this.flushOut();
    if (this.closed) return;
    if (this.reading && events & (UV_READABLE | UV_DISCONNECT)) this.readSome();
    else if (!this.reading && events & UV_DISCONNECT) {
      // Hang-up while paused: libuv would report it on every turn. Stop
      // polling until resume(), which reads the rest and sees the end.
      this.poller.stop();
      this.armed = 0;
    }
  }

  private readSome(): void {
    for (let round = 0; round < RECV_ROUNDS && this.reading && !this.closed; round++) {
      const fds: number[] = [];
      let bytes: Buffer | null;
      try {
        bytes = this.native.recvStream(this.fd, RECV_BYTES, fds);
      } catch (e) {
        // EMSGSIZE: more fds than fit in one control message, refused rather than lose some.
        closeFds(fds);
        this.emit('error', e as NodeJS.ErrnoException);
        return;
      }
      if (bytes === null) return;
      if (bytes.length === 0) {
        closeFds(fds);
        this.sawEof = true;
        this.reading = false;
        this.arm();
        this.emit('end');
        return;
      }
      try {
        this.emit('data', bytes, fds);
      } catch (e) {
        // A bug in a handler must not unwind into libuv and take the gateway down.
        this.emit('error', e as NodeJS.ErrnoException);
        return;
      }
      // A short read emptied the socket: the end of the stream, if it
      // follows, is reported by the next poll.
      if (bytes.length < RECV_BYTES) return;
    }
  }

  write(data: Buffer, fds?: number[]): void {
    if (this.closed || this.writeDead) {
      closeFds(fds ?? []);
      return;
    }
    this.out.push({ buf: data, fds: fds && fds.length > 0 ? fds : null });
    this.outBytes += data.length;
    if (this.out.length === 1) this.flushOut();
  }

  private flushOut(): void {
    while (this.out.length > 0 && !this.closed) {
      const item = this.out[0]!;
      let r: number;
      try {
        r = this.native.sendmsg(this.fd, [item.buf], AF_UNIX, null, item.fds, MSG_DONTWAIT);
      } catch (e) {
        // Errors the addon does not map to -errno (EBADF, ENOBUFS...): fatal for this client.
        const code = (e as NodeJS.ErrnoException).code;
        r = code === 'ENOBUFS' ? -105 : -9;
      }
      if (r === -EAGAIN) break;
      if (r < 0) {
        this.writeDead = true;
        for (const o of this.out) closeFds(o.fds ?? []);
        this.out = [];
        this.outBytes = 0;
        this.arm();
        // Read what the client sent before it went; 'end' follows from there.
        if (this.reading) this.readSome();
        if (!this.sawEof && !this.closed) this.emit('error', errnoError(ERRNO_NAMES[-r] ?? 'EIO', -r, 'sendmsg'));
        return;
      }
      // The kernel holds its own references now.
      closeFds(item.fds ?? []);
      item.fds = null;
      this.outBytes -= r;
      if (r < item.buf.length) item.buf = item.buf.subarray(r);
      else this.out.shift();
    }
    if (this.ending && this.out.length === 0) {
      this.destroy();
      return;
    }
    this.arm();
  }

  pause(): void {
    if (!this.reading) return;
    this.reading = false;
    this.arm();
  }

  resume(): void {
    if (this.reading || this.sawEof || this.closed) return;
    this.reading = true;
    this.arm();
  }

  end(): void {
    this.ending = true;
    this.reading = false;
    if (this.out.length === 0) this.destroy();
    else {
      this.arm();
      setTimeout(() => this.destroy(), 1000).unref();
    }
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.poller.close();
    for (const o of this.out) closeFds(o.fds ?? []);
    this.out = [];
    this.outBytes = 0;
    try {
      this.native.close(this.fd);
    } catch {
      // Already gone.
    }
  }
}
