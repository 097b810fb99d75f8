// The 48-byte ipnbus datagram header (packages/transport-ipn/src/header.ts),
// for the attacker scripts that write datagrams by hand; the bloom is all
// ones (matches every filter).
export const HEADER = 48;

export function header(kind, msgId, fragIndex, fragCount, totalLen) {
  const h = Buffer.alloc(HEADER);
  h[0] = 0x49;
  h[1] = 0x42;
  h[2] = 1;
  h[3] = kind;
  h.fill(0xff, 8, 24);
  h.writeUInt32LE(msgId, 32);
  h.writeUInt32LE(fragIndex, 36);
  h.writeUInt32LE(fragCount, 40);
  h.writeUInt32LE(totalLen, 44);
  return h;
}

/**
 * A fragmented unicast that never finishes: the first fragment announces
 * `announced` bytes in 65,535 fragments, then 64 KiB continuations follow
 * through `send` (one datagram's parts) until `sendBytes` went out, the
 * last fragment never. Resolves with the bytes sent.
 * @param {(parts: Buffer[]) => Promise<unknown>} send
 * @param {number} announced
 * @param {number} sendBytes
 */
export async function fragmentBomb(send, announced, sendBytes) {
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  let sent = 0;
  for (let i = 0; sent < sendBytes; i++) {
    await send([header(2, 99, i, 65535, announced), chunk]);
    sent += chunk.length;
  }
  return sent;
}
