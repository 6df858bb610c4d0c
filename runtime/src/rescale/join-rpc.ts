// The messages of a slot process joining a running job (live rescale, scale out: join-across.ts;
// docs/runtime/distributed.md, "A slot process joins: its slot and its wiring"). They ride in
// CONTROL frames of the data plane beside the checkpoint and migration RPC, once the joiner is
// linked with every running slot (join-link.ts).
//   join-state  slot 0 → the joiner: the key-group owner table now (its hash exchanges route by it);
//   join-built  the joiner → slot 0: its slot is built and open and its loop runs;
//   join-wire   slot 0 → each running slot, inside the exclusive section: add the channels to and
//               from the joiner to the running tasks;
//   join-wired  that slot → slot 0: they are in (each in its task's loop).
export type JoinRpc =
  | { m: 'join-state'; slot: number; owners: number[] }
  | { m: 'join-built'; slot: number }
  | { m: 'join-wire'; slot: number }
  | { m: 'join-wired'; slot: number };

/** Carries the join messages to a slot of another process (the slot process's data plane). */
export interface JoinTransport {
  send(slot: number, msg: JoinRpc): void;
}

export function isJoinRpc(msg: { m: string }): msg is JoinRpc {
  return msg.m === 'join-state' || msg.m === 'join-built' || msg.m === 'join-wire' || msg.m === 'join-wired';
}
