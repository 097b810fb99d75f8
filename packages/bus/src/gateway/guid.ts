// The server GUID a D-Bus server sends in OK and puts in its address.
import { randomBytes } from 'node:crypto';

/**
 * 128 bits as 32 hex digits. The spec's last 32 bits are a timestamp; we
 * follow it so a GUID also says roughly when the gateway started.
 */
export function newServerGuid(): string {
  const bytes = randomBytes(16);
  bytes.writeUInt32BE(Math.floor(Date.now() / 1000) >>> 0, 12);
  return bytes.toString('hex');
}
