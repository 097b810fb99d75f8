// Options of startGateway() and the per-client limits that keep one bad client from hurting others.
import type { Logger } from 'pino';

export interface GatewayLimits {
  /** Time a client has to finish SASL before it is dropped (ms). */
  authTimeoutMs: number;
  /** REJECTED/ERROR replies tolerated during SASL before disconnecting. */
  maxAuthFailures: number;
  /**
   * Bytes queued towards a client that does not read. Past this the client
   * is disconnected (and the log says so) instead of the gateway growing
   * without bound or the bus stalling.
   */
  maxOutgoingBytes: number;
  /**
   * Decoded messages from one client waiting to be handed to the bus. At
   * this depth the gateway stops reading that client's socket until it
   * drains: the kernel buffer then pushes back on the client itself.
   */
  maxQueuedMessages: number;
  /**
   * Bytes queued towards a monitor (BecomeMonitor) past which the copies it
   * gets are dropped, not queued: a monitor that does not keep up loses
   * messages, as with dbus-daemon, and is not disconnected.
   */
  maxMonitorBacklogBytes: number;
  /** Method calls from one client awaiting replies before reading pauses. */
  maxPendingCalls: number;
  /** Largest message accepted from a client (the spec's maximum by default). */
  maxMessageBytes: number;
  /** How long the gateway waits for a reply on a client's behalf (ms). */
  callTimeoutMs: number;
  /** Unix fds a client may have in flight not yet claimed by a message. */
  maxIncomingFds: number;
  /** Clients at once (each is a bus member); more are turned away at accept. */
  maxClients: number;
}

export const DEFAULT_LIMITS: GatewayLimits = {
  authTimeoutMs: 30_000,
  maxAuthFailures: 6,
  maxOutgoingBytes: 64 * 1024 * 1024,
  maxQueuedMessages: 256,
  maxPendingCalls: 1024,
  maxMonitorBacklogBytes: 4 * 1024 * 1024,
  maxMessageBytes: 128 * 1024 * 1024,
  // Clients keep their own timeouts; this only bounds gateway bookkeeping.
  callTimeoutMs: 10 * 60_000,
  maxIncomingFds: 1024,
  maxClients: 1024,
};

export interface GatewayOptions {
  /** 'unix:path=/run/x' or 'unix:abstract=name'. */
  listen: string;
  /** The ipnbus bus to join ('ipnbus:path=/dir'); default as connect(). */
  busAddress?: string;
  backend?: 'auto' | 'kernel' | 'user';
  /** Mode of the listening socket file (unix:path only). Default 0o600. */
  socketMode?: number;
  logger?: Logger;
  limits?: Partial<GatewayLimits>;
  /**
   * Offer unix fd passing (AGREE_UNIX_FD). Needs the native addon, which
   * then drives client sockets instead of node:net. Default: when available.
   */
  unixFds?: boolean;
}
