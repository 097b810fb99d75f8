// Monitors (org.freedesktop.DBus.Monitoring.BecomeMonitor) among the gateway's clients: becoming one, and what they are written.
//
// What a monitor sees is core's (core/monitors.ts): every broadcast, and
// a copy of every unicast any member sends, each sender's member making
// the copy. This hub only writes those to the monitor's socket, lossily:
// past limits.maxMonitorBacklogBytes unread, copies are dropped (and
// counted) rather than queued, so a monitor that stopped reading costs
// the gateway bounded memory and is never disconnected for it.
import type { Logger } from 'pino';
import { closeFds, type Connection } from '../core/index.js';
import type { Message } from '../wire/index.js';
import type { GatewayClient } from './client.js';

export class MonitorHub {
  private readonly monitors = new Set<GatewayClient>();
  /** Copies not written because their monitor was too far behind. */
  dropped = 0;

  constructor(
    private readonly maxBacklogBytes: number,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.monitors.size;
  }

  /** Throws DBusError (AccessDenied, MatchRuleInvalid) and leaves the client as it was. */
  add(client: GatewayClient, ruleTexts: string[], conn: Connection): void {
    conn.startMonitoring(ruleTexts);
    this.monitors.add(client);
  }

  remove(client: GatewayClient): void {
    this.monitors.delete(client);
  }

  /**
   * A message core delivered to a monitor client, with its fds (taken
   * here). One carrying fds for a client that did not negotiate fd passing
   * is not written, as libdbus in dbus-daemon does not send it.
   */
  deliver(client: GatewayClient, msg: Message, fds: number[]): void {
    if (!this.monitors.has(client) || (fds.length > 0 && !client.unixFds)) {
      closeFds(fds);
      return;
    }
    if (client.backlogBytes > this.maxBacklogBytes) {
      closeFds(fds);
      if (this.dropped++ % 1000 === 0) {
        this.log.info({ uniqueName: client.uniqueName, dropped: this.dropped }, 'monitor is not reading: copies dropped');
      }
      return;
    }
    client.writeRaw(msg, fds);
  }
}
