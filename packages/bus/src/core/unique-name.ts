// Unique names and endpoint ids: ':<generation>.<member id>' for a member, ':<generation>.<member id>.<n>' for a client it hosts.
//
// An endpoint is whatever a unique name names: a member of the network
// (sub-id 0) or a client a member hosts (a gateway's stock client, sub-id
// 1..2^32-1). Its id is one bigint so that name records, pending calls and
// the view compare endpoints with ===: the sub-id above bit 64, and in the
// low 64 bits the member id (from the transport), mixed with the sub-id for
// a hosted client.
//
// Why mixed: V8 hashes a BigInt by its lowest 64-bit digit only, so with the
// bare member id there, every client of one host fell into one hash bucket
// of every Set and Map keyed by endpoint id, and each lookup walked all of
// them (180 us at 16,384 departed clients, against 0.2 us for distinct low
// digits): a gateway's cost per connection grew with the clients it had
// seen. The mix is a bijection for each sub-id (xor with an odd multiple of
// it), so the member id comes back exactly.

const MEMBER_BITS = 64n;
const MEMBER_MASK = (1n << MEMBER_BITS) - 1n;
export const MAX_SUB_ID = 0xffffffff;
/** 2^64 / golden ratio, odd: sub * MIX spreads consecutive sub-ids over all 64 bits. */
const MIX = 0x9e3779b97f4a7c15n;

function mixOf(sub: number): bigint {
  return (BigInt(sub) * MIX) & MEMBER_MASK;
}

/** The endpoint id of member `member`'s hosted client `sub` (the member itself for 0). */
export function endpointId(member: bigint, sub: number): bigint {
  return sub === 0 ? member : (member ^ mixOf(sub)) | (BigInt(sub) << MEMBER_BITS);
}

/** The member an endpoint belongs to (itself for a member). */
export function memberOf(endpoint: bigint): bigint {
  if (endpoint <= MEMBER_MASK) return endpoint;
  return (endpoint & MEMBER_MASK) ^ mixOf(subOf(endpoint));
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
