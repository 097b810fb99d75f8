// Unique names and endpoint ids: ':<generation>.<member id>' for a member, ':<generation>.<member id>.<n>' for a client it hosts.
//
// An endpoint is whatever a unique name names: a member of the network
// (sub-id 0) or a client a member hosts (a gateway's stock client, sub-id
// 1..2^32-1). Its id is one bigint so that name records, pending calls and
// the view compare endpoints with ===: the member id (64 bits, from the
// transport) in the low bits, the sub-id above them.

const MEMBER_BITS = 64n;
const MEMBER_MASK = (1n << MEMBER_BITS) - 1n;
export const MAX_SUB_ID = 0xffffffff;

/** The endpoint id of member `member`'s hosted client `sub` (the member itself for 0). */
export function endpointId(member: bigint, sub: number): bigint {
  return sub === 0 ? member : member | (BigInt(sub) << MEMBER_BITS);
}

/** The member an endpoint belongs to (itself for a member). */
export function memberOf(endpoint: bigint): bigint {
  return endpoint & MEMBER_MASK;
}

/** 0 for a member, n for its hosted client n. */
export function subOf(endpoint: bigint): number {
  return Number(endpoint >> MEMBER_BITS);
}

/**
 * ':<generation>.<member id>' or ':<generation>.<member id>.<sub>'. The
 * generation (see bus-dir.ts) is counted up each time a dead kernel network
 * is replaced, so a unique name is never reused in the bus's life although
 * member ids restart with each network.
 */
export function uniqueNameOf(endpoint: bigint, generation = 1): string {
  const sub = subOf(endpoint);
  const member = memberOf(endpoint);
  return sub === 0 ? `:${generation}.${member}` : `:${generation}.${member}.${sub}`;
}

/** The endpoint a unique name of `generation` names, or undefined for anything else. */
export function endpointOf(name: string, generation = 1): bigint | undefined {
  const m = /^:(\d{1,15})\.(\d{1,20})(?:\.(\d{1,10}))?$/.exec(name);
  if (m === null || Number(m[1]) !== generation) return undefined;
  const id = BigInt(m[2]!);
  if (id <= 0n || id > MEMBER_MASK) return undefined;
  if (m[3] === undefined) return id;
  const sub = Number(m[3]);
  return sub >= 1 && sub <= MAX_SUB_ID ? endpointId(id, sub) : undefined;
}

/** The member id behind a unique name of `generation` (its host's for a hosted client). */
export function memberIdOf(name: string, generation = 1): bigint | undefined {
  const e = endpointOf(name, generation);
  return e === undefined ? undefined : memberOf(e);
}
