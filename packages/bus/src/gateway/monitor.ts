// Monitors (org.freedesktop.DBus.Monitoring.BecomeMonitor) and the copies they receive.
//
// Without a broker nobody sees every message, so a gateway monitor sees:
//  - every broadcast on the bus: its own member joins with match rules that
//    select them (all of them when no rule is given);
//  - every unicast that crosses this gateway (calls, replies and errors of
//    its stock clients, including their calls to org.freedesktop.DBus).
// Unicasts between other members go member-to-member and are invisible
// here; the README documents this limit.
import { parseMatchRule, matchesRule, type MatchRule } from '../core/match-rule.js';
import type { Connection } from '../core/index.js';
import type { Message } from '../wire/index.js';
import type { GatewayClient } from './client.js';

interface MonitorEntry {
  rules: MatchRule[];
  conn: Connection;
}

export class MonitorHub {
  private readonly monitors = new Map<GatewayClient, MonitorEntry>();

  get size(): number {
    return this.monitors.size;
  }

  /** Validates every rule first, so a bad rule leaves the client unchanged. */
  add(client: GatewayClient, ruleTexts: string[], conn: Connection): void {
    const rules = ruleTexts.map((t) => parseMatchRule(t));
    // Core stops filtering broadcasts for a monitor and applies its rules.
    conn.becomeMonitor(ruleTexts);
    this.monitors.set(client, { rules, conn });
  }

  remove(client: GatewayClient): void {
    this.monitors.delete(client);
  }

  private wants(entry: MonitorEntry, msg: Message): boolean {
    if (entry.rules.length === 0) return true;
    const ownerOf = (name: string): string | undefined => entry.conn.getNameOwner(name);
    return entry.rules.some((r) => matchesRule(r, msg, ownerOf));
  }

  /** A unicast crossing the gateway: copy it to every monitor that wants it. */
  copy(msg: Message, from: GatewayClient): void {
    // Copies carry no fds (they belong to the real receiver); a message
    // announcing fds without them would break the monitor's connection.
    if (this.monitors.size === 0 || (msg.unixFds ?? 0) > 0) return;
    for (const [client, entry] of this.monitors) {
      if (client !== from && this.wants(entry, msg)) client.writeRaw(msg);
    }
  }

  /** A broadcast the monitor's own member received (core already applied the rules). */
  deliverBroadcast(client: GatewayClient, msg: Message): void {
    if (this.monitors.has(client)) client.writeRaw(msg);
  }
}
