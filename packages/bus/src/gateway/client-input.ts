// What a stock client sends, read: the SASL handshake, then D-Bus frames decoded into messages, each claiming its unix fds in order.
//
// Unix fds (when negotiated) arrive with the first bytes of their message:
// they wait here until a message's UNIX_FDS count claims them, then go
// with it. Anything that breaks the protocol or a limit is reported
// (invalid) and the client is dropped by its owner (client.ts).
import { closeFds } from '../core/index.js';
import { WireError, decodeMessage, FrameReader, type Message } from '../wire/index.js';
import type { GatewayLimits } from './options.js';
import { SaslServer } from './sasl.js';

/** A message from the client with the fds it claimed (the taker closes them). */
export interface IncomingMessage {
  msg: Message;
  fds: number[];
}

export interface ClientInputInit {
  guid: string;
  limits: GatewayLimits;
  /** The uid EXTERNAL may prove (SO_PEERCRED, when the gateway allows it); undefined: authentication fails. */
  peerUid: number | undefined;
  /** Can this socket carry unix fds (offered in the handshake)? */
  supportsFds: boolean;
  /** Bytes to write to the client (the handshake's replies). */
  reply(bytes: Buffer): void;
  /** The handshake failed: drop the client without another word. */
  authFailed(reason: string): void;
  /** BEGIN was accepted: messages follow. */
  authenticated(): void;
  /** The client broke the protocol or a limit: drop it. */
  invalid(reason: string): void;
}

export class ClientInput {
  readonly #init: ClientInputInit;
  readonly #sasl: SaslServer;
  /** Set at BEGIN: from then on bytes are D-Bus messages. */
  #frames: FrameReader | undefined;
  /** Fds received and not yet claimed by a message (they arrive with its first bytes). */
  #fds: number[] = [];
  #unixFds = false;

  constructor(init: ClientInputInit) {
    this.#init = init;
    this.#sasl = new SaslServer({
      guid: init.guid,
      peerUid: init.peerUid,
      unixFdSupported: init.supportsFds,
      maxFailures: init.limits.maxAuthFailures,
    });
  }

  /** Did the client negotiate unix fd passing (NEGOTIATE_UNIX_FD + AGREE)? */
  get unixFds(): boolean {
    return this.#unixFds;
  }

  /**
   * Reads one chunk and the fds that came with it: the messages it
   * completes (perhaps none), or undefined while the handshake goes on and
   * once the client was reported (authFailed, invalid).
   */
  read(chunk: Buffer, fds: number[]): IncomingMessage[] | undefined {
    if (this.#frames === undefined) {
      // Fds during SASL are not part of any message: close them.
      closeFds(fds);
      const step = this.#sasl.feed(chunk);
      if (step.replies.length > 0) this.#init.reply(Buffer.from(step.replies.map((r) => r + '\r\n').join(''), 'latin1'));
      if (step.close !== undefined) {
        this.#init.authFailed(step.close);
        return undefined;
      }
      if (step.begun === undefined) return undefined;
      this.#unixFds = step.begun.unixFds;
      this.#frames = new FrameReader({ maxMessageLength: this.#init.limits.maxMessageBytes });
      this.#init.authenticated();
      chunk = step.begun.rest;
      if (chunk.length === 0) return undefined;
      fds = [];
    }
    if (fds.length > 0) {
      if (!this.#unixFds) {
        closeFds(fds);
        this.#init.invalid('client sent unix fds without negotiating them');
        return undefined;
      }
      this.#fds.push(...fds);
      const limit = this.#init.limits.maxIncomingFds;
      if (this.#fds.length > limit) {
        this.#init.invalid(`client has ${this.#fds.length} unix fds in flight (limit ${limit})`);
        return undefined;
      }
    }
    return this.#messages(this.#frames, chunk);
  }

  #messages(reader: FrameReader, chunk: Buffer): IncomingMessage[] | undefined {
    const out: IncomingMessage[] = [];
    const fail = (reason: string): undefined => {
      for (const m of out) closeFds(m.fds);
      this.#init.invalid(reason);
      return undefined;
    };
    let frames: Buffer[];
    try {
      frames = reader.pushRaw(chunk);
    } catch (err) {
      return fail(malformed(err));
    }
    for (const frame of frames) {
      let msg: Message;
      try {
        msg = decodeMessage(frame);
      } catch (err) {
        return fail(malformed(err));
      }
      const n = msg.unixFds ?? 0;
      if (n > 0 && (!this.#unixFds || this.#fds.length < n)) {
        return fail(`message declares ${n} unix fds but ${this.#fds.length} arrived`);
      }
      out.push({ msg, fds: n > 0 ? this.#fds.splice(0, n) : [] });
    }
    return out;
  }

  /** Closes the fds no message claimed (the client is closing). */
  discard(): void {
    closeFds(this.#fds);
    this.#fds = [];
  }
}

function malformed(err: unknown): string {
  const why = err instanceof WireError ? err.message : String(err);
  return `malformed message from client: ${why}`;
}
