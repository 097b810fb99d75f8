// Well-known name ownership as a pure state machine: primary owner, FIFO queue, spec flags and replies.
import { NameFlag, ReleaseNameReply, RequestNameReply } from './constants.js';

/** One connection wanting a name, with the flags of its last RequestName. */
export interface NameClaim {
  id: bigint;
  flags: number;
}

/**
 * The state of one name. `owners[0]` is the primary owner, the rest is the
 * queue in FIFO order (as dbus-daemon keeps it). `version` grows with every
 * change written to the bus directory, so replicas keep the newest.
 */
export interface NameState {
  name: string;
  version: number;
  owners: NameClaim[];
  /**
   * Set on the version that passed the name from its primary owner (dead,
   * or releasing it) to a member queued behind it: that owner's id. A member that sees the
   * owner leave reads it to announce one handover (old -> new), as
   * dbus-daemon does, rather than "no owner" then "new owner".
   */
  handedOverFrom?: bigint;
}

export interface Outcome<R> {
  state: NameState;
  reply: R;
  changed: boolean;
}

function same(a: NameClaim[], b: NameClaim[]): boolean {
  return a.length === b.length && a.every((c, i) => c.id === b[i]!.id && c.flags === b[i]!.flags);
}

function outcome<R>(before: NameState, owners: NameClaim[], reply: R): Outcome<R> {
  const changed = !same(before.owners, owners);
  return { state: changed ? { ...before, owners } : before, reply, changed };
}

/** RequestName, following the specification's table of flags and replies. */
export function requestName(state: NameState, id: bigint, flags: number): Outcome<number> {
  const owners = state.owners.map((c) => ({ ...c }));
  const primary = owners[0];
  if (primary === undefined) {
    return outcome(state, [{ id, flags }], RequestNameReply.PRIMARY_OWNER);
  }
  if (primary.id === id) {
    // dbus-daemon keeps the newest flags of an owner asking again.
    primary.flags = flags;
    return outcome(state, owners, RequestNameReply.ALREADY_OWNER);
  }
  const queued = owners.findIndex((c, i) => i > 0 && c.id === id);
  const canReplace = (flags & NameFlag.REPLACE_EXISTING) !== 0 && (primary.flags & NameFlag.ALLOW_REPLACEMENT) !== 0;
  if (!canReplace) {
    if (flags & NameFlag.DO_NOT_QUEUE) {
      if (queued > 0) owners.splice(queued, 1);
      return outcome(state, owners, RequestNameReply.EXISTS);
    }
    if (queued > 0) owners[queued]!.flags = flags;
    else owners.push({ id, flags });
    return outcome(state, owners, RequestNameReply.IN_QUEUE);
  }
  // Replacement: the old owner goes to the head of the queue unless it asked
  // never to be queued.
  if (queued > 0) owners.splice(queued, 1);
  const rest = owners.slice(1);
  const next: NameClaim[] = [{ id, flags }];
  if ((primary.flags & NameFlag.DO_NOT_QUEUE) === 0) next.push(primary);
  next.push(...rest);
  return outcome(state, next, RequestNameReply.PRIMARY_OWNER);
}

/** ReleaseName: leaves the primary place or the queue. */
export function releaseName(state: NameState, id: bigint): Outcome<number> {
  if (state.owners.length === 0) return outcome(state, state.owners, ReleaseNameReply.NON_EXISTENT);
  const i = state.owners.findIndex((c) => c.id === id);
  if (i < 0) return outcome(state, state.owners, ReleaseNameReply.NOT_OWNER);
  const owners = state.owners.filter((_, j) => j !== i);
  return outcome(state, owners, ReleaseNameReply.RELEASED);
}

/** Drops every claim of members that are gone; the next living one becomes primary. */
export function dropMembers(state: NameState, gone: (id: bigint) => boolean): Outcome<void> {
  const owners = state.owners.filter((c) => !gone(c.id));
  return outcome(state, owners, undefined);
}

export function primaryOwner(state: NameState | undefined): bigint | undefined {
  return state?.owners[0]?.id;
}
