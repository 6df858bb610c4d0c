// The messages of a live migration between slot processes (docs/runtime/distributed.md, CONTROL
// messages): they ride in CONTROL frames of the data plane beside the checkpoint RPC.
//   mig-handoff    old owner → new owner: one stateful step's key groups extracted at the step's barrier;
//   mig-positions  old owner → new owner: the positions (and watermarks) of the Kafka partitions it handed over;
//   mig-caught-up  new owner → old owner: a partition it took over no longer needs the old owner's watermark
//                  floor, as of barrier `barrierId` (rescale/floors-across.ts);
//   mig-done       a slot → slot 0: its part of the step is done (installed, taken over, consumers
//                  restarted), or failed (`error`): slot 0's migrate resolves a step only with every report;
//   mig-prepare    slot 0 → a slot of the plan, before anything moves: can it take part? (with the
//                  partitions the plan first moves from it);
//   mig-ready      that slot → slot 0, once its partition assignment under way is done: yes, or why not
//                  (`error`: its tasks finished at end of input, or it does not read a partition moved from it).
//
// A hand-off's bytes travel base64 in the JSON frame: a frame is at most MAX_FRAME_BYTES (256 MiB),
// so one hand-off holds at most MAX_HANDOFF_BYTES of state; a larger one fails the step (moving large
// state through the checkpoint store is left for later).
import { TributaryError } from '../errors.ts';
import { MAX_FRAME_BYTES } from '../net/frame-codec.ts';
import type { KeyGroupHandoff } from '../state/key-group-handoff.ts';

export const MAX_HANDOFF_BYTES = Math.floor((MAX_FRAME_BYTES * 3) / 4) - 1024 * 1024;

export type MigrationRpc =
  | {
      m: 'mig-handoff';
      barrierId: number;
      state: string;
      from: number;
      to: number;
      keyGroups: number[];
      bytes: string;
    }
  | {
      m: 'mig-positions';
      barrierId: number;
      source: string;
      from: number;
      to: number;
      positions: [number, string][];
      /** [partition, the old owner's watermark of it at the barrier]: the new owner starts it there (additive). */
      watermarks?: [number, number][];
    }
  | { m: 'mig-caught-up'; barrierId: number; source: string; partition: number; to: number }
  | { m: 'mig-done'; barrierId: number; slot: number; error?: string }
  /** `partitions`: [source, partition] the plan first moves from `slot`: it must read them. */
  | { m: 'mig-prepare'; id: number; slot: number; partitions?: [string, number][] }
  | {
      m: 'mig-ready';
      id: number;
      slot: number;
      error?: string;
      code?: 'TRIB_RESCALE_UNSUPPORTED' | 'TRIB_RESCALE_PLAN_INVALID';
    };

/** Where a process's LiveMigration sends to the slots of other processes (the data plane's CONTROL frames). */
export interface MigrationTransport {
  send(slot: number, msg: MigrationRpc): void;
}

export function isMigrationRpc(msg: { m: string }): msg is MigrationRpc {
  return ['mig-handoff', 'mig-positions', 'mig-caught-up', 'mig-done', 'mig-prepare', 'mig-ready'].includes(msg.m);
}

/** An extracted hand-off for new owner `to` in another process (base64); one too large for a frame fails the step. */
export function handoffMessage(
  barrierId: number,
  state: string,
  from: number,
  to: number,
  h: KeyGroupHandoff,
): MigrationRpc {
  if (h.bytes.byteLength > MAX_HANDOFF_BYTES)
    throw new TributaryError(
      'TRIB_RESCALE_STEP_FAILED',
      `live rescale: step "${state}" hands ${h.bytes.byteLength} bytes from slot ${from} to slot ${to}, ` +
        `more than one message carries (${MAX_HANDOFF_BYTES})`,
    );
  const bytes = Buffer.from(h.bytes.buffer, h.bytes.byteOffset, h.bytes.byteLength).toString('base64');
  return { m: 'mig-handoff', barrierId, state, from, to, keyGroups: h.keyGroups, bytes };
}
