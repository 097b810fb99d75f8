// decodeMessage: parses and validates exactly one whole message (header fields, padding, body).
import { bodyDecoders, readSignature, readString, readUint32, variantDecoder } from './decoder.js';
import { WireError } from './errors.js';
import { FIXED_HEADER_LENGTH, messageByteLength } from './frame-length.js';
import { MAX_TOTAL_DEPTH } from './limits.js';
import { HeaderField, MessageType, missingRequiredField, type Message } from './message.js';
import { isValidBusName, isValidErrorName, isValidInterfaceName, isValidMemberName, isValidObjectPath } from './names.js';
import { toBuffer } from './body.js';
import { Reader } from './reader.js';

export interface DecodeOptions {
  /** Copy 'ay' values out instead of returning views of the input (default false). */
  copyBytes?: boolean;
}

// The one signature each known header field must carry, by field code.
const FIELD_SIG = ['', 'o', 's', 's', 's', 'u', 's', 's', 'g', 'u'];
const FIELD_NAME = ['', 'PATH', 'INTERFACE', 'MEMBER', 'ERROR_NAME', 'REPLY_SERIAL', 'DESTINATION', 'SENDER', 'SIGNATURE', 'UNIX_FDS'];

/** A string header field's value, or the named rule broken at the value's offset. */
function readChecked(r: Reader, valid: (s: string) => boolean, rule: string, field: string): string {
  const at = r.pos;
  const s = readString(r);
  if (!valid(s)) r.fail(rule, `invalid ${field} '${s.slice(0, 80)}'`, at);
  return s;
}

/**
 * Decodes one message. `bytes` must hold exactly the message: a shorter
 * input is 'truncated', a longer one 'trailing-bytes'. 'ay' values in the
 * body are views of `bytes` unless `copyBytes` is set.
 */
export function decodeMessage(bytes: Uint8Array, opts?: DecodeOptions): Message {
  const buf = toBuffer(bytes);
  return decodeMessageAt(buf, 0, buf.length, opts);
}

/**
 * decodeMessage of the `length` bytes of `buf` from `offset`: a message
 * inside a larger block (a transport batch's record) decoded where it
 * lies, without a view of it. Error offsets count from `offset`.
 */
export function decodeMessageAt(buf: Buffer, offset: number, length: number, opts?: DecodeOptions): Message {
  if (offset < 0 || length < 0 || offset + length > buf.length) {
    throw new RangeError(`bytes ${offset}..${offset + length} are outside the ${buf.length}-byte input`);
  }
  if (length < FIXED_HEADER_LENGTH) {
    throw new WireError('truncated', `message needs at least ${FIXED_HEADER_LENGTH} bytes, got ${length}`, length);
  }
  const total = messageByteLength(buf, offset)!;
  if (length < total) throw new WireError('truncated', `message needs ${total} bytes, got ${length}`, length);
  if (length > total) throw new WireError('trailing-bytes', `${length - total} bytes after the message's end`, total);
  const le = buf[offset] === 0x6c;
  const type = buf[offset + 1]!;
  if (type < MessageType.METHOD_CALL || type > MessageType.SIGNAL) {
    throw new WireError('bad-message-type', `message type ${type} is not 1..4`, 1);
  }
  const r = acquireReader();
  try {
    r.resetAt(buf, offset, length, le);
    return decodeWith(r, total, opts);
  } finally {
    releaseReader(r);
  }
}

// One reader is reused across calls (no allocation per message); a nested
// call, impossible today, would get its own.
const sharedReader = new Reader(Buffer.alloc(0), 0, 0, 0, true);
let sharedBusy = false;

function acquireReader(): Reader {
  if (sharedBusy) return new Reader(Buffer.alloc(0), 0, 0, 0, true);
  sharedBusy = true;
  return sharedReader;
}

const EMPTY = Buffer.alloc(0);

let releaseQueued = false;

function releaseReader(r: Reader): void {
  if (r !== sharedReader) return;
  sharedBusy = false;
  // Do not keep a big input's memory alive until the next decode, but let
  // go of it only once the current run of decodes is over: the messages of
  // one received block are decoded one after the other, and dropping the
  // block after each would make the next one build the reader's view of
  // it again (a Buffer and a DataView per message: a subscriber that had
  // fallen behind read blocks of megabytes).
  if (r.buf.length > 1024 * 1024 && !releaseQueued) {
    releaseQueued = true;
    queueMicrotask(dropBigInput);
  }
}

function dropBigInput(): void {
  releaseQueued = false;
  if (!sharedBusy && sharedReader.buf.length > 1024 * 1024) sharedReader.reset(EMPTY, true);
}

/** The header fields of a message, parsed and validated. */
interface HeaderFields {
  path: string | undefined;
  iface: string | undefined;
  member: string | undefined;
  errorName: string | undefined;
  replySerial: number | undefined;
  destination: string | undefined;
  sender: string | undefined;
  signature: string;
  unixFds: number | undefined;
}

/** Parses the header fields array [o + 16, fieldsEnd) and the padding up to bodyStart. */
function parseHeader(r: Reader, o: number, type: number, fieldsEnd: number, bodyStart: number): HeaderFields {
  let path: string | undefined;
  let iface: string | undefined;
  let member: string | undefined;
  let errorName: string | undefined;
  let replySerial: number | undefined;
  let destination: string | undefined;
  let sender: string | undefined;
  let signature: string | undefined;
  let unixFds: number | undefined;
  let seen = 0;

  // Header fields: an array of (yv). Known codes must carry their one type.
  r.end = fieldsEnd;
  r.pos = o + FIXED_HEADER_LENGTH;
  while (r.pos < fieldsEnd) {
    r.align(8, 1);
    const at = r.pos;
    const code = r.buf[r.pos++]!;
    if (code === 0) r.fail('bad-field-code', 'header field code 0 is invalid', at);
    if (code >= FIELD_SIG.length) {
      // Unknown fields are skipped, but their value must still be well formed.
      const sig = readSignature(r);
      const inner = variantDecoder(sig);
      // The value sits inside the fields array, a struct and a variant.
      if (3 + inner.node.depth > MAX_TOTAL_DEPTH) r.fail('too-deep', 'unknown header field nests too deep', at);
      r.depth = 3;
      inner.codec(r);
      r.depth = 0;
      continue;
    }
    if (seen & (1 << code)) r.fail('duplicate-field', `header field ${FIELD_NAME[code]} appears twice`, at);
    seen |= 1 << code;
    const want = FIELD_SIG[code]!;
    if (r.pos + 3 > r.end || r.buf[r.pos] !== 1 || r.buf[r.pos + 1] !== want.charCodeAt(0) || r.buf[r.pos + 2] !== 0) {
      const sig = r.pos + 3 <= r.end && r.buf[r.pos] === 1 ? String.fromCharCode(r.buf[r.pos + 1]!) : '?';
      r.fail('bad-field-type', `header field ${FIELD_NAME[code]} must be '${want}', is '${sig}'`, at);
    }
    r.pos += 3;
    const vat = r.pos;
    switch (code) {
      case HeaderField.PATH:
        path = readChecked(r, isValidObjectPath, 'bad-object-path', 'PATH');
        break;
      case HeaderField.INTERFACE:
        iface = readChecked(r, isValidInterfaceName, 'bad-name', 'INTERFACE');
        break;
      case HeaderField.MEMBER:
        member = readChecked(r, isValidMemberName, 'bad-name', 'MEMBER');
        break;
      case HeaderField.ERROR_NAME:
        errorName = readChecked(r, isValidErrorName, 'bad-name', 'ERROR_NAME');
        break;
      case HeaderField.REPLY_SERIAL:
        replySerial = readUint32(r);
        if (replySerial === 0) r.fail('bad-serial', 'REPLY_SERIAL is 0', vat);
        break;
      case HeaderField.DESTINATION:
        destination = readChecked(r, isValidBusName, 'bad-name', 'DESTINATION');
        break;
      case HeaderField.SENDER:
        sender = readChecked(r, isValidBusName, 'bad-name', 'SENDER');
        break;
      case HeaderField.SIGNATURE:
        signature = readSignature(r);
        break;
      case HeaderField.UNIX_FDS:
        unixFds = readUint32(r);
        break;
    }
  }
  if (r.pos !== fieldsEnd) r.fail('bad-array-length', 'last header field runs past the fields array');
  r.end = bodyStart;
  r.align(8, 0);
  if (r.pos !== bodyStart) r.fail('bad-padding', 'header is not padded to 8 bytes');

  const missing = missingRequiredField(type, path, iface, member, errorName, replySerial);
  if (missing !== undefined) r.fail('missing-field', missing, o);

  return { path, iface, member, errorName, replySerial, destination, sender, signature: signature ?? '', unixFds };
}

// Signals of one kind from one sender carry byte-identical header fields;
// only the serial and body length (outside the fields) change. So parsed
// headers are cached, keyed by the exact bytes from the fields length word
// to the body (plus endianness and type, which change their meaning): a hit
// costs one native compare instead of parsing and validating every field.
const HEADER_SLOTS = 64;
const headerBytes: (Uint8Array | undefined)[] = new Array(HEADER_SLOTS).fill(undefined);
const headerKey = new Int32Array(HEADER_SLOTS);
const headerParsed: (HeaderFields | undefined)[] = new Array(HEADER_SLOTS).fill(undefined);
// Headers longer than this (rare) are parsed every time.
const HEADER_CACHE_MAX = 512;

function cachedHeader(r: Reader, o: number, type: number, fieldsEnd: number, bodyStart: number): HeaderFields {
  const buf = r.buf;
  const from = o + 12;
  const len = bodyStart - from;
  if (len > HEADER_CACHE_MAX) return parseHeader(r, o, type, fieldsEnd, bodyStart);
  const key = (buf[o]! << 8) | type;
  // Hash the tail, where the fields that differ most (sender, signature) sit.
  let h = len;
  for (let i = bodyStart - 1, stop = Math.max(from, bodyStart - 24); i >= stop; i--) h = Math.imul(h ^ buf[i]!, 0x01000193);
  h ^= h >>> 16;
  const slot = Math.imul(h, 0x85ebca6b) >>> 26;
  const known = headerBytes[slot];
  if (known !== undefined && headerKey[slot] === key && known.length === len && buf.compare(known, 0, len, from, bodyStart) === 0) {
    return headerParsed[slot]!;
  }
  const parsed = parseHeader(r, o, type, fieldsEnd, bodyStart);
  headerBytes[slot] = new Uint8Array(buf.subarray(from, bodyStart));
  headerKey[slot] = key;
  headerParsed[slot] = parsed;
  return parsed;
}

function decodeWith(r: Reader, total: number, opts: DecodeOptions | undefined): Message {
  const o = r.origin;
  const le = r.le;
  const buf = r.buf;
  const type = buf[o + 1]!;
  const serial = r.dv.getUint32(o + 8, le);
  if (serial === 0) throw new WireError('bad-serial', 'serial is 0', 8);
  const bodyLen = r.dv.getUint32(o + 4, le);
  const fieldsEnd = o + FIXED_HEADER_LENGTH + r.dv.getUint32(o + 12, le);
  const end = o + total;
  const bodyStart = o + ((fieldsEnd - o + 7) & ~7);

  const h = cachedHeader(r, o, type, fieldsEnd, bodyStart);
  r.end = end;
  r.pos = bodyStart;

  let body: unknown[];
  const sig = h.signature;
  if (sig === '') {
    if (bodyLen !== 0) r.fail('missing-field', `body of ${bodyLen} bytes without SIGNATURE`, o + 4);
    body = [];
  } else {
    const decoders = bodyDecoders(sig);
    r.fdLimit = h.unixFds ?? 0;
    r.copyBytes = opts?.copyBytes === true;
    body = new Array<unknown>(decoders.length);
    for (let i = 0; i < decoders.length; i++) body[i] = decoders[i]!(r);
    if (r.pos !== end) r.fail('bad-body-length', `${end - r.pos} bytes of body left over after the values`);
  }

  return {
    type,
    flags: buf[o + 2]!,
    serial,
    path: h.path,
    interface: h.iface,
    member: h.member,
    errorName: h.errorName,
    replySerial: h.replySerial,
    destination: h.destination,
    sender: h.sender,
    signature: sig,
    body,
    unixFds: h.unixFds,
  };
}
