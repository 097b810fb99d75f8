// The Message shape, message types, flags and header field codes.

/** The four message types (fixed header byte 1). */
export enum MessageType {
  METHOD_CALL = 1,
  METHOD_RETURN = 2,
  ERROR = 3,
  SIGNAL = 4,
}

/** Flag bits (fixed header byte 2); unknown bits are carried, never rejected, as the spec says. */
export const MessageFlags = {
  NO_REPLY_EXPECTED: 1,
  NO_AUTO_START: 2,
  ALLOW_INTERACTIVE_AUTHORIZATION: 4,
} as const;

/** Header field codes and the one type each must carry. */
export enum HeaderField {
  PATH = 1,
  INTERFACE = 2,
  MEMBER = 3,
  ERROR_NAME = 4,
  REPLY_SERIAL = 5,
  DESTINATION = 6,
  SENDER = 7,
  SIGNATURE = 8,
  UNIX_FDS = 9,
}

/**
 * The header field a message of `type` must carry but lacks (spec: "Message
 * Types"), first in header order, or undefined when none is missing. Shared by
 * the encoder and the decoder so both refuse the same messages.
 */
export function missingRequiredField(
  type: MessageType, path: unknown, iface: unknown, member: unknown, errorName: unknown, replySerial: unknown,
): string | undefined {
  switch (type) {
    case MessageType.METHOD_CALL:
      if (path == null) return 'a method call needs PATH';
      if (member == null) return 'a method call needs MEMBER';
      return undefined;
    case MessageType.METHOD_RETURN:
      return replySerial == null ? 'a method return needs REPLY_SERIAL' : undefined;
    case MessageType.ERROR:
      if (errorName == null) return 'an error needs ERROR_NAME';
      if (replySerial == null) return 'an error needs REPLY_SERIAL';
      return undefined;
    case MessageType.SIGNAL:
      if (path == null) return 'a signal needs PATH';
      if (iface == null) return 'a signal needs INTERFACE';
      if (member == null) return 'a signal needs MEMBER';
      return undefined;
    default:
      return undefined;
  }
}

/** One D-Bus message, header and body, as plain JS values. */
export interface Message {
  type: MessageType;
  flags: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  /** '' when there is no body. */
  signature: string;
  /** One JS value per complete type in `signature`. */
  body: unknown[];
  /** Number of unix fds carried with the message (header field UNIX_FDS). */
  unixFds?: number;
}

export type Endian = 'little' | 'big';
