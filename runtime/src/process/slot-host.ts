// The messages between a slot and the local supervisor that hosts it (`tributary run --threads`,
// `--distributed`; supervisor.ts): a slot thread's parentPort, a slot process's IPC channel. A
// live rescale needs the host: only it can start new slots, and only it can hand a new slot
// thread's MessagePorts to the running threads (a port cannot cross the data plane).
//
//   slot 0 → host   {op:'rescale', id, to, generation, restartAt?}: record that a restart starts
//                   `restartAt` slots from now on (the whole rescale's target, of which `to` may be
//                   one part: its write-ahead intent; `to` without it),
//                   and for a scale out start slots N..to−1 as members of `generation` and have
//                   every running slot link with them; answered {reply: id} once all are linked,
//                   or with the error that stopped it.
//   host → slot     {op:'link', id, generation, parallelism, peers}: prepare the generation (the
//                   data plane accepts the new slots' HELLOs), then link with each new peer (a TCP
//                   address, or a thread's MessagePorts moved with the message); answered
//                   {op:'linked', id, error?}.
//   new slot → host {op:'linked', id: 0, error?}: linked with every running slot (`link()`).
//
// In a pod there is no such host: slot 0 is its own (rescale-host-pods.ts), the operator starts the new pods.
import { parentPort, type MessagePort } from 'node:worker_threads';
import { TributaryError } from '../errors.ts';
import type { RescaleHost } from '../rescale/rescale-host.ts';

export const HOST_KIND = 'tributary:host';

/** A new peer a running slot links with: by address (TCP), or over the ports of its pair (threads). */
export interface NewPeer {
  slot: number;
  address?: string;
  ports?: { outbound: MessagePort; inbound: MessagePort };
}

export type ToHost =
  | { kind: typeof HOST_KIND; op: 'rescale'; id: number; to: number; generation: number; restartAt?: number }
  | { kind: typeof HOST_KIND; op: 'linked'; id: number; error?: string };

export type FromHost =
  | { kind: typeof HOST_KIND; op: 'reply'; id: number; error?: string }
  | { kind: typeof HOST_KIND; op: 'link'; id: number; generation: number; parallelism: number; peers: NewPeer[] };

export function isHostMessage<T extends ToHost | FromHost>(m: unknown): m is T {
  return (m as { kind?: unknown } | null)?.kind === HOST_KIND;
}

/** How a slot talks to its host: `post` sends (moving `transfer`), `listen` receives. */
export interface HostTransport {
  post(m: ToHost): void;
  listen(on: (m: unknown) => void): void;
}

/** The slot's side: requests to the host and its link orders. It starts the joining slots itself (no `awaiting`). */
export class SlotHost implements RescaleHost {
  private readonly t: HostTransport;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private onLink: ((generation: number, parallelism: number, peers: NewPeer[]) => Promise<void>) | undefined;

  constructor(t: HostTransport) {
    this.t = t;
    t.listen((m) => {
      if (!isHostMessage<FromHost>(m)) return;
      if (m.op === 'reply') {
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (m.error === undefined) w?.resolve();
        else w?.reject(new TributaryError('TRIB_RESCALE_STEP_FAILED', `the slots' host: ${m.error}`));
      } else if (m.op === 'link') void this.link(m.id, m.generation, m.parallelism, m.peers);
    });
  }

  /**
   * Slot 0: the host records that a restart starts `restartAt` slots (default `to`) and, scaling out,
   * starts and links the new slots up to `to`.
   */
  rescale(to: number, generation: number, restartAt = to): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.t.post({ kind: HOST_KIND, op: 'rescale', id, to, generation, restartAt });
    });
  }

  /** A running slot: how it links with new peers (prepare the generation, then link each). */
  handleLinks(fn: (generation: number, parallelism: number, peers: NewPeer[]) => Promise<void>): void {
    this.onLink = fn;
  }

  /** A new slot: linked with every running slot (or why not). */
  linked(error?: unknown): void {
    this.t.post({ kind: HOST_KIND, op: 'linked', id: 0, ...(error === undefined ? {} : { error: String(error) }) });
  }

  private async link(id: number, generation: number, parallelism: number, peers: NewPeer[]): Promise<void> {
    let error: string | undefined;
    try {
      if (!this.onLink) throw new TributaryError('TRIB_RESCALE_UNSUPPORTED', 'this slot links no new peers');
      await this.onLink(generation, parallelism, peers);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    this.t.post({ kind: HOST_KIND, op: 'linked', id, ...(error === undefined ? {} : { error }) });
  }
}

/**
 * This slot's host, if a local supervisor started it: a slot thread's parentPort, a slot process's
 * IPC channel (unref'd: it must not keep a finished slot alive). None in a pod.
 */
export function slotHostOfThisSlot(): SlotHost | undefined {
  if (parentPort) {
    const port = parentPort;
    return new SlotHost({ post: (m) => port.postMessage(m), listen: (on) => port.on('message', on) });
  }
  if (!process.send) return undefined;
  return new SlotHost({
    post: (m) => process.send?.(m),
    listen: (on) => {
      process.on('message', on);
      // A 'message' listener refs the channel; the slot's own work decides when it exits.
      process.channel?.unref();
    },
  });
}
