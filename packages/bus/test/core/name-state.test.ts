// RequestName/ReleaseName as the specification's table says: replies, flags, FIFO queue, replacement.
import { describe, expect, it } from 'vitest';
import { dropMembers, releaseName, requestName, type NameState } from '../../src/core/name-state.js';
import { NameFlag as F, ReleaseNameReply as Rel, RequestNameReply as Req } from '../../src/core/constants.js';

const empty: NameState = { name: 'org.example.N', version: 0, owners: [] };
const ids = (s: NameState): bigint[] => s.owners.map((c) => c.id);

function chain(...steps: Array<[bigint, number]>): { state: NameState; replies: number[] } {
  let state = empty;
  const replies: number[] = [];
  for (const [id, flags] of steps) {
    const o = requestName(state, id, flags);
    state = o.state;
    replies.push(o.reply);
  }
  return { state, replies };
}

describe('RequestName', () => {
  it('first is primary, again is already owner, others queue FIFO', () => {
    const { state, replies } = chain([1n, 0], [1n, 0], [2n, 0], [3n, 0], [2n, 0]);
    expect(replies).toEqual([Req.PRIMARY_OWNER, Req.ALREADY_OWNER, Req.IN_QUEUE, Req.IN_QUEUE, Req.IN_QUEUE]);
    expect(ids(state)).toEqual([1n, 2n, 3n]);
  });

  it('DO_NOT_QUEUE gives EXISTS and leaves the queue', () => {
    const { state, replies } = chain([1n, 0], [2n, 0], [2n, F.DO_NOT_QUEUE]);
    expect(replies).toEqual([Req.PRIMARY_OWNER, Req.IN_QUEUE, Req.EXISTS]);
    expect(ids(state)).toEqual([1n]);
  });

  it('REPLACE_EXISTING needs the owner to ALLOW_REPLACEMENT', () => {
    expect(chain([1n, 0], [2n, F.REPLACE_EXISTING]).replies[1]).toBe(Req.IN_QUEUE);
    expect(chain([1n, 0], [2n, F.REPLACE_EXISTING | F.DO_NOT_QUEUE]).replies[1]).toBe(Req.EXISTS);
    const { state, replies } = chain([1n, F.ALLOW_REPLACEMENT], [3n, 0], [2n, F.REPLACE_EXISTING]);
    expect(replies[2]).toBe(Req.PRIMARY_OWNER);
    // The replaced owner goes to the head of the queue.
    expect(ids(state)).toEqual([2n, 1n, 3n]);
  });

  it('a replaced owner that said DO_NOT_QUEUE leaves entirely', () => {
    const { state } = chain([1n, F.ALLOW_REPLACEMENT | F.DO_NOT_QUEUE], [2n, F.REPLACE_EXISTING]);
    expect(ids(state)).toEqual([2n]);
  });

  it('an owner asking again updates its flags', () => {
    const { state } = chain([1n, 0], [1n, F.ALLOW_REPLACEMENT], [2n, F.REPLACE_EXISTING]);
    expect(ids(state)).toEqual([2n, 1n]);
  });
});

describe('ReleaseName', () => {
  it('replies and promotes the queue head', () => {
    const { state } = chain([1n, 0], [2n, 0], [3n, 0]);
    expect(releaseName(empty, 1n).reply).toBe(Rel.NON_EXISTENT);
    expect(releaseName(state, 9n).reply).toBe(Rel.NOT_OWNER);
    const r = releaseName(state, 1n);
    expect(r.reply).toBe(Rel.RELEASED);
    expect(ids(r.state)).toEqual([2n, 3n]);
    const q = releaseName(state, 3n);
    expect(q.reply).toBe(Rel.RELEASED);
    expect(ids(q.state)).toEqual([1n, 2n]);
  });

  it('dropMembers removes the dead and keeps the order', () => {
    const { state } = chain([1n, 0], [2n, 0], [3n, 0], [4n, 0]);
    const out = dropMembers(state, (id) => id === 1n || id === 3n);
    expect(out.changed).toBe(true);
    expect(ids(out.state)).toEqual([2n, 4n]);
    expect(dropMembers(state, () => false).changed).toBe(false);
  });
});
