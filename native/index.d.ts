// Types for the ipnbus addon (native/src/addon.cc): syscalls and readiness only.

/** Sender identity: SO_PEERCRED, SCM_CREDENTIALS or IPN_CMSG_CREDS. */
export interface NativeCreds { pid: number; uid: number; gid: number }

/** An IPN membership notice (IPN_CMSG_MEMBER_EVENT). */
export interface NativeMemberEvent extends NativeCreds { id: bigint; type: 'join' | 'leave' | 'overrun' | 'unknown' }

/** One received datagram. */
export interface RecvItem {
  /** Sender member id from msg_name (AF_IPN); 0n on AF_UNIX. */
  from: bigint;
  bytes: Buffer;
  /** Fds received with SCM_RIGHTS (close-on-exec; the caller owns them). */
  fds: number[];
  creds?: NativeCreds;
  /** IPN_CMSG_DROPPED: messages lost just before this one. */
  dropped: number;
  event?: NativeMemberEvent;
  /** IPN_CMSG_EVENTS_LOST, on an 'overrun' event: membership events lost. */
  eventsLost?: number;
  /** The datagram or its control data did not fit. */
  truncated?: boolean;
}

/** Syscall numbers and flags the transport passes back to the addon. */
export type SyscallConstant =
  | 'AF_UNIX'
  | 'SOCK_SEQPACKET'
  | 'SOCK_RAW'
  | 'SOCK_DGRAM'
  | 'SOL_SOCKET'
  | 'SO_SNDBUF'
  | 'SO_RCVBUF'
  | 'SO_SNDBUFFORCE'
  | 'SO_RCVBUFFORCE'
  | 'SO_PASSCRED'
  | 'MSG_DONTWAIT'
  | 'LOCK_EX'
  | 'LOCK_SH'
  | 'LOCK_UN'
  | 'LOCK_NB'
  | 'EAGAIN'
  | 'EPIPE'
  | 'ECONNRESET'
  | 'EHOSTUNREACH'
  | 'ENOTCONN'
  | 'EINPROGRESS'
  | 'EWOULDBLOCK'
  | 'IPN_FAMILY_DEFAULT'
  | 'IPN_ANY'
  | 'IPN_BROADCAST'
  | 'IPN_PATH_MAX'
  | 'SOL_IPN'
  | 'IPN_SO_MODE'
  | 'IPN_SO_FLAGS'
  | 'IPN_SO_MTU'
  | 'IPN_FLAG_LOSSLESS'
  | 'IPN_MTU_DEFAULT'
  | 'IPN_MTU_MAX'
  | 'IPN_SO_LOOPBACK'
  | 'IPN_SO_PASSCRED'
  | 'IPN_SO_MEMBER_EVENTS'
  | 'IPN_SO_MEMBER_ID'
  | 'IPN_SO_NETINFO'
  | 'IPN_SO_DROPS'
  | 'BPF_LD'
  | 'BPF_W'
  | 'BPF_ABS'
  | 'BPF_ALU'
  | 'BPF_AND'
  | 'BPF_K'
  | 'BPF_JMP'
  | 'BPF_JEQ'
  | 'BPF_RET';

/**
 * The layouts of the packed receive calls' meta rows (column indices and
 * row length), their flags, and the bits of a Poller's `events`.
 */
export interface LayoutConstants {
  /** recvReadyPacked: int32 per row, and the column of each field. */
  PACKED_MESH_ROW: number;
  PACKED_MESH_FD: number;
  PACKED_MESH_OFFSET: number;
  PACKED_MESH_LENGTH: number;
  PACKED_MESH_FLAGS: number;
  /** Index into `extras`, or -1. */
  PACKED_MESH_EXTRA: number;
  /** recvmmsgPacked: int32 per row, and the column of each field. */
  PACKED_IPN_ROW: number;
  PACKED_IPN_OFFSET: number;
  PACKED_IPN_LENGTH: number;
  PACKED_IPN_FLAGS: number;
  PACKED_IPN_ID_LOW: number;
  PACKED_IPN_ID_HIGH: number;
  PACKED_IPN_PID: number;
  PACKED_IPN_UID: number;
  PACKED_IPN_GID: number;
  PACKED_IPN_DROPPED: number;
  /** Index into `extras`, or -1. */
  PACKED_IPN_EXTRA: number;
  /** Row flags: the datagram or its control data did not fit. */
  PACKED_TRUNCATED: number;
  /** Mesh rows: the peer hung up. */
  PACKED_EOF: number;
  /** Mesh rows: a notify-only fd (a listener) is ready. */
  PACKED_NOTIFY: number;
  /** Mesh rows: the socket (fd) or the ready set (fd -1) may hold more. */
  PACKED_MORE: number;
  /** Mesh rows: a pass over the ready set ended here. */
  PACKED_PASS_END: number;
  /** IPN rows: pid, uid and gid are present. */
  PACKED_HAS_CREDS: number;
  /** Poller events bits. */
  POLL_READABLE: number;
  POLL_WRITABLE: number;
  POLL_DISCONNECT: number;
}

export declare const constants: Readonly<Record<SyscallConstant, number> & LayoutConstants & { IPN_FAMILY_SYSFS: string }>;

/** AF_IPN family number from sysfs, or null when ipn.ko is not loaded. */
export declare function ipnFamily(): number | null;

/** socket(2), always SOCK_NONBLOCK | SOCK_CLOEXEC. */
export declare function socket(domain: number, type: number, protocol: number): number;
/** Path, or abstract when it starts with "\0" or "@". */
export declare function bindUnix(fd: number, path: string): void;
/** 0 when connected; -EAGAIN/-EINPROGRESS when the backlog is full. */
export declare function connectUnix(fd: number, path: string): number;
export declare function bindIpn(fd: number, family: number, path: string): void;
export declare function connectIpn(fd: number, family: number, path: string): void;
export declare function listen(fd: number, backlog: number): void;
/** New fd, or -EAGAIN when none is pending. */
export declare function accept(fd: number): number;
export declare function close(fd: number): void;
export declare function setsockoptInt(fd: number, level: number, name: number, value: number): void;
export declare function getsockoptInt(fd: number, level: number, name: number): number;
export declare function getsockoptU64(fd: number, level: number, name: number): bigint;
export declare function getsockoptBuffer(fd: number, level: number, name: number, size: number): Buffer;
export declare function peerCred(fd: number): NativeCreds;

export interface BpfInsn { code: number; jt: number; jf: number; k: number }
/** SO_ATTACH_FILTER with a classic BPF program. */
export declare function attachFilter(fd: number, prog: Buffer | BpfInsn[]): void;
export declare function detachFilter(fd: number): void;

export type Parts = Uint8Array | Uint8Array[];
/**
 * sendmsg(2) with MSG_NOSIGNAL. dest = member id (AF_IPN unicast), fds go as
 * SCM_RIGHTS. Returns bytes, or -EAGAIN / -EPIPE / -ECONNRESET /
 * -EHOSTUNREACH / -ENOTCONN without throwing.
 */
export declare function sendmsg(fd: number, parts: Parts, family: number, dest?: bigint | null, fds?: number[] | null, flags?: number): number;
/** One message to many sockets; results[i] = bytes or -errno. Returns successes. */
export declare function sendToMany(fds: Int32Array, parts: Parts, flags: number, results: Int32Array): number;
/**
 * Numbered fan-out under flock(lockFd), taken without waiting: the next
 * number after the u64 at the start of `counter` (a mmapShared mapping of
 * the lock file) goes into parts[0] at seqOffset, drops[i] at dropOffset
 * before the send to fds[i]; results[i] = bytes or -errno. Returns the
 * number, or 0 (nothing sent) when another process holds the lock. keepLock
 * 1 / 2: return with the lock held after an EAGAIN / always (see mesh.cc).
 */
export declare function seqSendToMany(lockFd: number, counter: Buffer, fds: Int32Array, drops: Int32Array | null,
  parts: Uint8Array[], seqOffset: number, dropOffset: number, results: Int32Array, keepLock?: 0 | 1 | 2): number;
/** A MAP_SHARED mapping of the file's first `length` bytes. */
export declare function mmapShared(fd: number, length: number): Buffer;
/** Every ready datagram (up to vlen) in one call; `eof` set when hung up. */
export declare function recvmmsg(fd: number, vlen: number, maxBytes: number): RecvItem[] & { eof?: boolean };
/**
 * One recvmsg on a stream socket: its bytes, or null when there is nothing
 * to read, or an empty Buffer when the peer hung up. Fds that came with the
 * bytes (close-on-exec, now the caller's) are pushed onto `fds`; more than
 * one control message holds are closed and EMSGSIZE is thrown.
 */
export declare function recvStream(fd: number, maxBytes: number, fds: number[]): Buffer | null;
export declare function epollCreate(): number;
/** Readable interest; notifyOnly fds are reported, not read. */
export declare function epollAdd(epfd: number, fd: number, notifyOnly?: boolean): void;
export declare function epollDel(epfd: number, fd: number): void;
/** dup(2) with close-on-exec. */
export declare function dup(fd: number): number;
/** One batch from recvReadyPacked: see addon.cc for the meta layout. */
export interface PackedBatch {
  data: Buffer;
  /** PACKED_MESH_ROW int32 per item, columns PACKED_MESH_* (flags PACKED_*). */
  meta: Int32Array;
  extras: { fds: number[]; creds?: NativeCreds }[];
  /** The last pass found nothing: everything read so far is all there is. */
  settled: boolean;
}
/** Repeated non-blocking passes over an epoll set, packed for cheap JS use. */
export declare function recvReadyPacked(epfd: number, maxEvents: number, vlen: number, maxBytes: number,
  maxPasses: number): PackedBatch | null;
/** One batch from recvmmsgPacked (a single AF_IPN socket). */
export interface PackedIpnBatch {
  data: Buffer;
  /** PACKED_IPN_ROW int32 per datagram, columns PACKED_IPN_* (flags PACKED_*). */
  meta: Int32Array;
  extras: { fds: number[]; event?: NativeMemberEvent; eventsLost?: number }[];
  eof: boolean;
}
/** Reads a socket's queue (up to maxRounds recvmmsg calls), packed. */
export declare function recvmmsgPacked(fd: number, vlen: number, maxBytes: number, maxRounds: number): PackedIpnBatch | null;
/** flock(2): 0, or -EWOULDBLOCK with LOCK_NB. */
export declare function flock(fd: number, op: number): number;

/** libuv uv_poll_t for one fd. `events` carries the POLL_* bits. */
export declare class Poller {
  constructor();
  start(fd: number, readable: boolean, writable: boolean, cb: (status: number, events: number) => void): void;
  stop(): void;
  close(): void;
}
