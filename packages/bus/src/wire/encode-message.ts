// encodeMessage: validates a Message and marshals header and body into one Buffer.
import { bodyEncoders, checkBody, writeSignature, type Encode } from './encoder.js';
import { WireError } from './errors.js';
import { BIG_ENDIAN_BYTE, LITTLE_ENDIAN_BYTE, MAX_MESSAGE_LENGTH, PROTOCOL_VERSION } from './limits.js';
import { HeaderField, missingRequiredField, type Endian, type Message } from './message.js';
import { isValidBusName, isValidErrorName, isValidInterfaceName, isValidMemberName, isValidObjectPath } from './names.js';
import { acquireWriter, releaseWriter, type Writer } from './writer.js';

function bad(rule: string, message: string): never {
  throw new WireError(rule, message);
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** Checks the two fixed-header values every message sets anew; returns the flags byte. */
function checkFlagsAndSerial(msg: Message): number {
  const flags = msg.flags ?? 0;
  if (typeof flags !== 'number' || (flags & 0xff) !== flags) bad('bad-flags', `flags ${String(flags)} is not a byte`);
  const serial = msg.serial;
  if (typeof serial !== 'number' || serial >>> 0 !== serial || serial === 0) {
    bad('bad-serial', `serial ${String(serial)} is not an integer 1..2^32-1`);
  }
  return flags;
}

/** Checks the header of `msg`; throws WireError naming the first problem. */
function validateHeader(msg: Message): void {
  if (msg === null || typeof msg !== 'object') bad('bad-message', 'message is not an object');
  const t = msg.type;
  if (t !== 1 && t !== 2 && t !== 3 && t !== 4) bad('bad-message-type', `message type ${String(t)} is not 1..4`);
  checkFlagsAndSerial(msg);
  if (present(msg.path) && !isValidObjectPath(msg.path)) bad('bad-object-path', `invalid PATH '${String(msg.path)}'`);
  if (present(msg.interface) && !isValidInterfaceName(msg.interface)) bad('bad-name', `invalid INTERFACE '${String(msg.interface)}'`);
  if (present(msg.member) && !isValidMemberName(msg.member)) bad('bad-name', `invalid MEMBER '${String(msg.member)}'`);
  if (present(msg.errorName) && !isValidErrorName(msg.errorName)) bad('bad-name', `invalid ERROR_NAME '${String(msg.errorName)}'`);
  if (present(msg.destination) && !isValidBusName(msg.destination)) bad('bad-name', `invalid DESTINATION '${String(msg.destination)}'`);
  if (present(msg.sender) && !isValidBusName(msg.sender)) bad('bad-name', `invalid SENDER '${String(msg.sender)}'`);
  if (present(msg.replySerial)) {
    const rs = msg.replySerial;
    if (typeof rs !== 'number' || rs >>> 0 !== rs || rs === 0) bad('bad-serial', `REPLY_SERIAL ${String(rs)} is not an integer 1..2^32-1`);
  }
  if (present(msg.unixFds)) {
    const n = msg.unixFds;
    if (typeof n !== 'number' || n >>> 0 !== n) bad('bad-value', `UNIX_FDS ${String(n)} is not an unsigned integer`);
  }
  const missing = missingRequiredField(t, msg.path, msg.interface, msg.member, msg.errorName, msg.replySerial);
  if (missing !== undefined) bad('missing-field', missing);
}

/** Starts one header field struct: its code and the variant signature of its one type. */
function fieldStart(w: Writer, code: number, sigChar: number): void {
  // 8-aligned struct, then code byte and signature (length 1, char, NUL): the value's 4-alignment needs no pad.
  w.align(8, 4);
  const buf = w.buf;
  buf[w.pos] = code;
  buf[w.pos + 1] = 1;
  buf[w.pos + 2] = sigChar;
  buf[w.pos + 3] = 0;
  w.pos += 4;
}

/** Writes one string-valued header field struct: code, variant signature, value. */
function stringField(w: Writer, code: number, sigChar: number, s: string): void {
  fieldStart(w, code, sigChar);
  encS(w, s);
}

// PATH is validated with the header, so it is written with the plain string encoder.
const [encS, encU] = [bodyEncoders('s')[0]!, bodyEncoders('u')[0]!];
const CHAR_S = 0x73;
const CHAR_O = 0x6f;
const CHAR_U = 0x75;
const CHAR_G = 0x67;

/**
 * Marshals a message. Fields go out in code order and only when set, which is
 * what dbus-next writes, so the bytes match it exactly. Little-endian unless
 * `endian: 'big'`.
 */
export function encodeMessage(msg: Message, opts?: { endian?: Endian }): Buffer {
  const le = opts?.endian !== 'big';
  const cached = findHeader(msg, le);
  if (cached !== undefined) return encodeWithHeader(msg, le, cached);
  validateHeader(msg);
  const signature = msg.signature ?? '';
  const body = msg.body ?? [];
  let encoders;
  try {
    encoders = bodyEncoders(signature);
  } catch (e) {
    if (e instanceof WireError) bad(e.rule, `bad SIGNATURE: ${e.message}`);
    throw e;
  }
  checkBody(signature, body, encoders);
  const unixFds = msg.unixFds ?? 0;
  const w = acquireWriter();
  try {
    w.begin(le, unixFds);
    w.ensure(16);
    const buf = w.buf;
    const o = w.origin;
    buf[o] = le ? LITTLE_ENDIAN_BYTE : BIG_ENDIAN_BYTE;
    buf[o + 1] = msg.type;
    buf[o + 2] = msg.flags ?? 0;
    buf[o + 3] = PROTOCOL_VERSION;
    w.dv.setUint32(o + 8, msg.serial, le);
    w.pos = o + 16;
    if (present(msg.path)) stringField(w, HeaderField.PATH, CHAR_O, msg.path!);
    if (present(msg.interface)) stringField(w, HeaderField.INTERFACE, CHAR_S, msg.interface!);
    if (present(msg.member)) stringField(w, HeaderField.MEMBER, CHAR_S, msg.member!);
    if (present(msg.errorName)) stringField(w, HeaderField.ERROR_NAME, CHAR_S, msg.errorName!);
    let replySerialAt = -1;
    if (present(msg.replySerial)) {
      fieldStart(w, HeaderField.REPLY_SERIAL, CHAR_U);
      replySerialAt = w.pos - (o + 12);
      encU(w, msg.replySerial);
    }
    if (present(msg.destination)) stringField(w, HeaderField.DESTINATION, CHAR_S, msg.destination!);
    if (present(msg.sender)) stringField(w, HeaderField.SENDER, CHAR_S, msg.sender!);
    if (signature !== '') {
      fieldStart(w, HeaderField.SIGNATURE, CHAR_G);
      writeSignature(w, signature);
    }
    if (unixFds > 0) {
      fieldStart(w, HeaderField.UNIX_FDS, CHAR_U);
      encU(w, unixFds);
    }
    w.dv.setUint32(w.origin + 12, w.pos - w.origin - 16, le);
    w.align(8, 0);
    const bodyStart = w.pos;
    rememberHeader(msg, le, w.buf.subarray(w.origin + 12, bodyStart), encoders, replySerialAt);
    return writeBody(w, le, bodyStart, encoders, body);
  } catch (e) {
    w.abandon();
    throw e;
  } finally {
    releaseWriter(w);
  }
}

function writeBody(w: Writer, le: boolean, bodyStart: number, encoders: Encode[], body: unknown[]): Buffer {
  for (let i = 0; i < encoders.length; i++) encoders[i]!(w, body[i]);
  const total = w.pos - w.origin;
  if (total > MAX_MESSAGE_LENGTH) w.fail('too-long', `message of ${total} bytes is over the 128 MiB limit`);
  w.dv.setUint32(w.origin + 4, w.pos - bodyStart, le);
  return w.finish();
}

/**
 * A header already written and validated: its fields as given, and the bytes
 * from the fields length word to the body. A service emits the same few
 * signals and calls over and over; their header fields only differ in the
 * serial, which sits outside these bytes.
 */
interface EncodedHeader {
  type: number;
  path: string | undefined;
  iface: string | undefined;
  member: string | undefined;
  errorName: string | undefined;
  destination: string | undefined;
  sender: string | undefined;
  signature: string | undefined;
  unixFds: number | undefined;
  le: boolean;
  bytes: Uint8Array;
  encoders: Encode[];
  /** A reply's: where its REPLY_SERIAL value sits in `bytes`, written anew for each reply (-1: none). */
  replySerialAt: number;
}

// A handful of slots, replaced round-robin. Replies and errors, whose
// header differs from the last one's in REPLY_SERIAL alone when they answer
// the same caller the same way (a relay forwarding a client's replies, a
// service answering one caller), have slots of their own, so they cannot
// push signals out.
const HEADER_SLOTS = 8;
class HeaderSlots {
  readonly #slots: (EncodedHeader | undefined)[] = new Array(HEADER_SLOTS).fill(undefined);
  #next = 0;

  find(msg: Message, le: boolean): EncodedHeader | undefined {
    for (let i = 0; i < HEADER_SLOTS; i++) {
      const h = this.#slots[i];
      if (h === undefined) return undefined;
      if (
        h.member === msg.member && h.path === msg.path && h.iface === msg.interface && h.type === msg.type &&
        h.sender === msg.sender && h.destination === msg.destination && h.signature === msg.signature &&
        h.errorName === msg.errorName && h.unixFds === msg.unixFds && h.le === le
      ) {
        return h;
      }
    }
    return undefined;
  }

  add(h: EncodedHeader): void {
    this.#slots[this.#next] = h;
    this.#next = (this.#next + 1) % HEADER_SLOTS;
  }
}
const signalHeaders = new HeaderSlots();
const replyHeaders = new HeaderSlots();

function findHeader(msg: Message, le: boolean): EncodedHeader | undefined {
  if (msg === null || typeof msg !== 'object') return undefined;
  const rs = msg.replySerial;
  if (rs === undefined) return signalHeaders.find(msg, le);
  // The value is not in the cached bytes: checked here as validateHeader would.
  if (typeof rs !== 'number' || rs >>> 0 !== rs || rs === 0) return undefined;
  return replyHeaders.find(msg, le);
}

function rememberHeader(msg: Message, le: boolean, bytes: Uint8Array, encoders: Encode[], replySerialAt: number): void {
  if (bytes.length > 512) return;
  const h: EncodedHeader = {
    type: msg.type, path: msg.path, iface: msg.interface, member: msg.member, errorName: msg.errorName,
    destination: msg.destination, sender: msg.sender, signature: msg.signature, unixFds: msg.unixFds, le,
    bytes: new Uint8Array(bytes), encoders, replySerialAt,
  };
  if (replySerialAt < 0) signalHeaders.add(h);
  else replyHeaders.add(h);
}

/** encodeMessage for a header seen before: only flags, serial and body are new. */
function encodeWithHeader(msg: Message, le: boolean, h: EncodedHeader): Buffer {
  const flags = checkFlagsAndSerial(msg);
  const serial = msg.serial;
  const body = msg.body ?? [];
  checkBody(h.signature ?? '', body, h.encoders);
  const w = acquireWriter();
  try {
    w.begin(le, h.unixFds ?? 0);
    const n = h.bytes.length;
    w.ensure(12 + n);
    const buf = w.buf;
    const o = w.origin;
    buf[o] = le ? LITTLE_ENDIAN_BYTE : BIG_ENDIAN_BYTE;
    buf[o + 1] = h.type;
    buf[o + 2] = flags;
    buf[o + 3] = PROTOCOL_VERSION;
    w.dv.setUint32(o + 8, serial, le);
    buf.set(h.bytes, o + 12);
    if (h.replySerialAt >= 0) w.dv.setUint32(o + 12 + h.replySerialAt, msg.replySerial!, le);
    w.pos = o + 12 + n;
    return writeBody(w, le, w.pos, h.encoders, body);
  } catch (e) {
    w.abandon();
    throw e;
  } finally {
    releaseWriter(w);
  }
}
