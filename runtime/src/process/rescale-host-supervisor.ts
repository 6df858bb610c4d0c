// A local supervisor's part of a live rescale (slot-host.ts): slot 0 asks, the supervisor records
// the new parallelism and, scaling out, starts the new slots and has every running slot link with
// them. What moves key groups and partitions is the job's (slot 0 drives it once this resolves).
//
// Order, so that no HELLO of a new slot meets a running slot that is not ready for it: the link
// orders go out first (a running slot prepares the generation as it reads its order, then links:
// `addPeer` dials until the new slot listens, `addPeerPorts` waits on the ports), then the new slots
// start; it resolves once every running slot answered its order and every new slot reported its
// links. A new slot's dial refused because its order was still in flight is tried again (TCP); a
// port's handshake waits on the port until the running thread reads it (threads).
//
// The intent comes first: from the request on, a restart of the run starts `restartAt` slots — the
// whole rescale's target, when slot 0 scales out one slot at a time — from the last completed
// checkpoint (which holds every key group and partition once, whatever moved), as the operator's
// write-ahead intent decides a pod restart's parallelism (docs/design/live-rescale.md §6).
import type { Logger } from 'pino';
import { TributaryError } from '../errors.ts';
import { threadJoinPorts, type ThreadPorts } from '../net/port-socket.ts';
import { HOST_KIND, isHostMessage, type NewPeer, type ToHost } from './slot-host.ts';
import type { SlotHandle } from './slot-launch.ts';
import type { MessagePort } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';

/** How often a rescale request checks whether the slots that left have exited. */
const LEFT_EXIT_POLL_MS = 20;

export interface SupervisorRescaleHostContext {
  /** The attempt's slots now (running or exited). */
  slots(): readonly SlotHandle[];
  /** The parallelism the attempt started with. */
  parallelism: number;
  /** Threads linked over MessagePorts (else every slot has a TCP data address). */
  overPorts: boolean;
  /** Ports for new slots `slots`: data (its address in the peer list), control, metrics. */
  reserve(slots: readonly number[]): Promise<void>;
  dataAddress(slot: number): string;
  /** Starts new slot `slot` of parallelism `parallelism` as a member of `generation`. */
  launch(slot: number, parallelism: number, generation: number, dataPorts?: ThreadPorts): SlotHandle;
  /** The parallelism the next attempt starts with. */
  setParallelism(n: number): void;
  /** How long the new slots have to link. */
  timeoutMs: number;
  logger: Logger;
}

export class SupervisorRescaleHost {
  private readonly c: SupervisorRescaleHostContext;
  private nextOrder = 1;
  /** The job's parallelism: the attempt's, then each request's target (the run continues at it from the request). */
  private parallelism: number;
  private readonly answers = new Map<string, (error: string | undefined) => void>();
  /** The attempt ended: nothing more is asked or answered. */
  private closed = false;

  constructor(c: SupervisorRescaleHostContext) {
    this.c = c;
    this.parallelism = c.parallelism;
  }

  /** Wires a slot's messages: slot 0's requests, every slot's answers. */
  attach(h: SlotHandle): void {
    h.onMessage((m) => {
      if (!isHostMessage<ToHost>(m)) return;
      if (m.op === 'linked') this.answers.get(`${h.slot}:${m.id}`)?.(m.error);
      else if (m.op === 'rescale' && h.slot === 0)
        this.rescale(m.to, m.generation, m.restartAt ?? m.to).then(
          () => this.closed || h.send({ kind: HOST_KIND, op: 'reply', id: m.id }),
          (e: unknown) =>
            this.closed || h.send({ kind: HOST_KIND, op: 'reply', id: m.id, error: (e as Error).message }),
        );
    });
  }

  /**
   * The attempt ended (its slots exited): answers still awaited never come. Each is settled now and its timer
   * cleared — left pending, a rescale a kill interrupted kept the run's process alive for the whole timeout
   * after the job had stopped.
   */
  close(): void {
    this.closed = true;
    for (const settle of [...this.answers.values()]) settle('the attempt ended');
  }

  private async rescale(to: number, generation: number, restartAt: number): Promise<void> {
    if (this.closed) throw new TributaryError('TRIB_RESCALE_UNSUPPORTED', 'the attempt ended');
    const from = this.parallelism;
    const running = await this.runningSlots(from);
    this.parallelism = to;
    this.c.setParallelism(restartAt);
    this.c.logger.info(
      { from, to, restartAt, generation },
      'live rescale: the run continues at the new parallelism (a restart starts restartAt slots)',
    );
    if (to <= from) return;
    const joiners = Array.from({ length: to - from }, (_, i) => from + i);
    const ports = this.c.overPorts
      ? threadJoinPorts(
          running.map((h) => h.slot),
          joiners,
        )
      : undefined;
    // Every slot gets its ports (control, metrics; data for TCP links) and its place in the peer list.
    await this.c.reserve(joiners);
    const answered: Promise<void>[] = [];
    for (const h of running) {
      const peers: NewPeer[] = joiners.map((slot) => {
        const pair = ports?.forRunning.get(h.slot)?.get(slot);
        return pair ? { slot, ports: pair } : { slot, address: this.c.dataAddress(slot) };
      });
      const id = this.nextOrder++;
      answered.push(this.answer(h.slot, id, `slot ${h.slot} linking the new slots`));
      const transfer = peers.flatMap((p) => (p.ports ? [p.ports.outbound, p.ports.inbound] : [])) as MessagePort[];
      h.send({ kind: HOST_KIND, op: 'link', id, generation, parallelism: to, peers }, transfer);
    }
    for (const slot of joiners) {
      answered.push(this.answer(slot, 0, `new slot ${slot} linking`));
      const handle = this.c.launch(slot, to, generation, ports?.joiners.get(slot));
      // "slots started" lists an attempt's first slots only: a joiner's pid is said here.
      this.c.logger.info({ slot, pid: handle.pid, parallelism: to, generation }, 'joining slot started');
      this.attach(handle);
    }
    await Promise.all(answered);
  }

  /**
   * The job's slots 0..from−1. Slots that left in a scale in said so (slot 0 completed that rescale) before
   * their processes exit: a request right after waits for them, bounded by the timeout — counted as running,
   * they made a scale out start no slot, or one whose index a leaving slot still held.
   */
  private async runningSlots(from: number): Promise<SlotHandle[]> {
    const alive = () => this.c.slots().filter((h) => h.child.exitCode === null && h.child.signalCode === null);
    const deadline = Date.now() + this.c.timeoutMs;
    while (alive().some((h) => h.slot >= from) && Date.now() < deadline && !this.closed) await sleep(LEFT_EXIT_POLL_MS);
    const running = alive();
    const slots = running.map((h) => h.slot).sort((a, b) => a - b);
    if (slots.length !== from || slots.some((s, i) => s !== i))
      throw new TributaryError(
        'TRIB_RESCALE_UNSUPPORTED',
        `the running slots are ${slots.join(', ')}, not the job's 0..${from - 1} (slots that left still running ` +
          `after ${this.c.timeoutMs} ms, or one exited): no slot can join or leave`,
      );
    return running;
  }

  /**
   * Resolves when `slot` answers `id` without an error; rejects with its error or after the timeout. A slot that
   * exits instead fails the attempt by its exit (supervisor.ts), which stops slot 0 with the rest.
   */
  private answer(slot: number, id: number, what: string): Promise<void> {
    const key = `${slot}:${id}`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.answers.delete(key);
        reject(new TributaryError('TRIB_PEER_TIMEOUT', `${what}: no answer within ${this.c.timeoutMs} ms`));
      }, this.c.timeoutMs);
      this.answers.set(key, (error) => {
        clearTimeout(timer);
        this.answers.delete(key);
        if (error === undefined) resolve();
        else reject(new TributaryError('TRIB_PEER_CONFIG', `${what}: ${error}`));
      });
    });
  }
}
