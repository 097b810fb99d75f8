// Server side of the D-Bus SASL handshake: EXTERNAL only, as dbus-daemon on a unix socket.
//
// The spec's state machine (WaitingForAuth, WaitingForData, WaitingForBegin)
// driven by whole lines. It is pure: it never touches a socket, so it can be
// tested line by line and the client loop stays simple. Clients pipeline
// (sd-bus sends AUTH, DATA, NEGOTIATE_UNIX_FD and BEGIN in one write), so
// feed() consumes as many lines as are complete and hands back the bytes
// that follow BEGIN: they are already D-Bus messages.

/** What the caller must do after feeding bytes. */
export interface SaslStep {
  /** Lines to send, each without its CRLF. */
  replies: string[];
  /** Set once BEGIN was accepted: bytes after it belong to the message stream. */
  begun?: { rest: Buffer; unixFds: boolean };
  /** Set when the client must be dropped; the reason is for the log. */
  close?: string;
}

export interface SaslOptions {
  /** Server GUID sent in OK. */
  guid: string;
  /** Uid of the peer from SO_PEERCRED; undefined = unknown, EXTERNAL fails. */
  peerUid: number | undefined;
  /** Whether this server can pass unix fds on the client socket. */
  unixFdSupported: boolean;
  /** REJECTED/ERROR replies tolerated before disconnecting (dbus-daemon-like). */
  maxFailures?: number;
  /** Longest line accepted; longer is garbage (dbus caps its auth buffer too). */
  maxLineBytes?: number;
}

type State = 'nul' | 'auth' | 'data' | 'begin' | 'done' | 'closed';

const MECHANISMS = 'EXTERNAL';

export class SaslServer {
  private state: State = 'nul';
  private buf: Buffer = Buffer.alloc(0);
  private failures = 0;
  private unixFds = false;
  /** The uid the client proved, once OK was sent. */
  authorizedUid: number | undefined;
  private readonly maxFailures: number;
  private readonly maxLineBytes: number;

  constructor(private readonly opts: SaslOptions) {
    this.maxFailures = opts.maxFailures ?? 6;
    this.maxLineBytes = opts.maxLineBytes ?? 16 * 1024;
  }

  get finished(): boolean {
    return this.state === 'done' || this.state === 'closed';
  }

  feed(chunk: Buffer): SaslStep {
    const step: SaslStep = { replies: [] };
    if (this.finished) return step;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.state === 'nul') {
      if (this.buf.length === 0) return step;
      // The credentials byte: must be NUL, and it is the very first byte.
      if (this.buf[0] !== 0) return this.fail(step, 'first byte is not the NUL credentials byte');
      this.buf = this.buf.subarray(1);
      this.state = 'auth';
    }
    for (;;) {
      const end = this.buf.indexOf('\r\n');
      if (end < 0) {
        if (this.buf.length > this.maxLineBytes) return this.fail(step, 'auth line too long');
        return step;
      }
      if (end > this.maxLineBytes) return this.fail(step, 'auth line too long');
      const raw = this.buf.subarray(0, end);
      this.buf = this.buf.subarray(end + 2);
      // The protocol is US-ASCII; anything else is garbage, not a command.
      if (raw.some((b) => b < 0x20 || b > 0x7e)) {
        this.error(step, 'line is not printable ASCII');
      } else {
        this.line(raw.toString('latin1'), step);
      }
      if (step.close) return step;
      if (this.state === 'done') {
        step.begun = { rest: this.buf, unixFds: this.unixFds };
        this.buf = Buffer.alloc(0);
        return step;
      }
    }
  }

  private line(line: string, step: SaslStep): void {
    const sp = line.indexOf(' ');
    const cmd = sp < 0 ? line : line.slice(0, sp);
    const arg = sp < 0 ? undefined : line.slice(sp + 1);
    switch (this.state) {
      case 'auth':
        return this.inAuth(cmd, arg, step);
      case 'data':
        return this.inData(cmd, arg, step);
      case 'begin':
        return this.inBegin(cmd, step);
      default:
        return;
    }
  }

  private inAuth(cmd: string, arg: string | undefined, step: SaslStep): void {
    switch (cmd) {
      case 'AUTH': {
        if (arg === undefined || arg === '') return this.reject(step);
        const sp = arg.indexOf(' ');
        const mech = sp < 0 ? arg : arg.slice(0, sp);
        const initial = sp < 0 ? undefined : arg.slice(sp + 1);
        if (mech !== 'EXTERNAL') return this.reject(step);
        if (initial === undefined) {
          // No initial response: ask for it with an empty challenge.
          this.state = 'data';
          step.replies.push('DATA');
          return;
        }
        return this.external(initial, step);
      }
      case 'BEGIN':
        // The spec: BEGIN before OK ends the conversation with a disconnect.
        this.fail(step, 'BEGIN before authentication');
        return;
      case 'CANCEL':
      case 'DATA':
        return this.error(step, 'not currently in an auth conversation');
      case 'NEGOTIATE_UNIX_FD':
        return this.error(step, 'need to authenticate first');
      case 'ERROR':
        return this.reject(step);
      default:
        return this.error(step, 'unknown command');
    }
  }

  private inData(cmd: string, arg: string | undefined, step: SaslStep): void {
    switch (cmd) {
      case 'DATA':
        return this.external(arg ?? '', step);
      case 'CANCEL':
      case 'ERROR':
        this.state = 'auth';
        return this.reject(step);
      case 'BEGIN':
        this.fail(step, 'BEGIN before authentication');
        return;
      case 'NEGOTIATE_UNIX_FD':
        return this.error(step, 'need to authenticate first');
      case 'AUTH':
        return this.error(step, 'sent AUTH while another AUTH is in progress');
      default:
        return this.error(step, 'unknown command');
    }
  }

  private inBegin(cmd: string, step: SaslStep): void {
    switch (cmd) {
      case 'BEGIN':
        this.state = 'done';
        return;
      case 'NEGOTIATE_UNIX_FD':
        if (this.opts.unixFdSupported) {
          this.unixFds = true;
          step.replies.push('AGREE_UNIX_FD');
          return;
        }
        return this.error(step, 'unix fd passing is not supported by this server');
      case 'CANCEL':
      case 'ERROR':
        this.state = 'auth';
        this.authorizedUid = undefined;
        this.unixFds = false;
        return this.reject(step);
      case 'AUTH':
      case 'DATA':
        return this.error(step, `sent ${cmd} while expecting BEGIN`);
      default:
        return this.error(step, 'unknown command');
    }
  }

  /**
   * EXTERNAL: the response is the hex of the uid in ASCII decimal, or empty
   * for "whoever the socket says I am". Either way SO_PEERCRED decides.
   */
  private external(hex: string, step: SaslStep): void {
    const peer = this.opts.peerUid;
    if (peer === undefined) {
      this.state = 'auth';
      return this.reject(step);
    }
    if (hex !== '') {
      if (!/^(?:[0-9A-Fa-f]{2})+$/.test(hex)) {
        this.state = 'auth';
        return this.error(step, 'response is not hex');
      }
      const claimed = Buffer.from(hex, 'hex').toString('latin1');
      if (!/^[0-9]{1,10}$/.test(claimed) || Number(claimed) !== peer) {
        this.state = 'auth';
        return this.reject(step);
      }
    }
    this.authorizedUid = peer;
    this.state = 'begin';
    step.replies.push(`OK ${this.opts.guid}`);
  }

  private reject(step: SaslStep): void {
    step.replies.push(`REJECTED ${MECHANISMS}`);
    this.countFailure(step, 'too many rejected authentication attempts');
  }

  private error(step: SaslStep, why: string): void {
    step.replies.push(`ERROR "${why}"`);
    this.countFailure(step, `too many auth errors (last: ${why})`);
  }

  private countFailure(step: SaslStep, why: string): void {
    this.failures++;
    if (this.failures >= this.maxFailures) this.fail(step, why);
  }

  private fail(step: SaslStep, why: string): SaslStep {
    this.state = 'closed';
    step.close = why;
    return step;
  }
}
