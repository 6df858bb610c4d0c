// The data plane of one slot process: a DataServer for inbound links (this slot consumes),
// one dialed OutboundLink per other slot (this slot produces), and the lookup of the remote
// channel ends that the job's exchanges and gates use.
//
// Start-up: `listen()`, then `connect(discover)` dials every address discovery returns until
// this slot has an outbound link to, and an inbound link from, each of the other p−1 slots
// of its deployment. Peers identify their slot in the handshake, so discovery only has to
// produce addresses (explicit list, or pod IPs from the Kubernetes API); addresses of stale
// deployments are refused and tried again on the next round.
//
// Live rescale (docs/design/live-rescale.md §4–5): the running slots are told of the next
// membership generation (`prepareGeneration`) before its new slots start; from then on they
// accept those slots' HELLOs, and `addPeer(slot, address)` links with one both ways: a dialed
// outbound link and the inbound link the new slot dials, each with its channels and credits as
// at start; slot threads do the same over the ports their supervisor made for the pair
// (`addPeerPorts`, port-socket.ts `threadJoinPorts`). `removePeer(slot)` retires the links with
// a slot that left (BYE, peer-link.ts): no failure on either end. The peers a plane expects
// (`connected`) are the start's other slots, plus those added, minus those removed.
import type { Logger } from 'pino';
import { TributaryError } from '../errors.ts';
import { DataServer } from './data-server.ts';
import { dial } from './dialer.ts';
import { PROTOCOL_VERSION, dataPlaneKey, type Identity, type UnsignedHello } from './handshake.ts';
import { Membership } from './membership.ts';
import { NetMetrics } from './net-metrics.ts';
import { InboundLink, OutboundLink, type LinkOptions } from './peer-link.ts';
import type { MessagePort } from 'node:worker_threads';
import type { ThreadPorts } from './port-socket.ts';
import { acceptPorts, dialPort, linkedBy } from './port-links.ts';
import type { InboundChannel, OutboundChannel } from './tcp-channel.ts';

export interface DataPlaneOptions {
  identity: Identity;
  /** The job's secret: peers prove they know it in the handshake (handshake.ts). */
  secret: string;
  host: string;
  port: number;
  /** Remote channels per ordered slot pair (hash-exchange inputs of the plan). */
  channels: number;
  /**
   * Credits per inbound channel (buffers the receiver holds). Default 32: a credit returns only
   * once the consuming task has polled its frame, so what is in flight must cover the consumer's
   * longest event-loop turn (a window firing, a GC pause, a snapshot). With 8 the producing slots
   * of a keyed shuffle sat idle ~30 % of the time waiting for credit (docs/runtime/distributed.md).
   */
  credits?: number;
  /** Target DATA frame size. Default 32 KiB (Flink's buffer size). */
  frameBytes?: number;
  /** How long a dialing peer has for its handshake once connected. Default 10 s (data-server.ts). */
  handshakeTimeoutMs?: number;
  /** Frames a channel queues without credit before it reports itself unwritable. Default 2. */
  maxQueuedFrames?: number;
  metrics?: NetMetrics;
  logger: Logger;
  /** CONTROL messages from peers (checkpoint RPC). */
  onControl?: (fromSlot: number, msg: unknown) => void;
}

/**
 * Frames in flight per remote channel. A receiver holds at most that many frames of ~frameBytes
 * (a frame may overshoot by one batch) per channel: ~1–2 MiB, times (p − 1) peers × the job's
 * exchanges per slot.
 */
export const DEFAULT_CREDITS = 32;

export class DataPlane {
  readonly outbound = new Map<number, OutboundLink>();
  readonly inbound = new Map<number, InboundLink>();
  readonly metrics: NetMetrics;
  private readonly opts: DataPlaneOptions;
  private readonly linkOpts: LinkOptions;
  private readonly server: DataServer;
  private readonly inboundSlots = new Set<number>();
  private readonly key: Buffer;
  /** The generations whose members may link with this slot (membership.ts). */
  private readonly members: Membership;
  /** The other slots this plane links with both ways (`connected`). */
  private readonly peers = new Set<number>();
  port = 0;

  constructor(opts: DataPlaneOptions) {
    if (opts.secret === '') throw new TributaryError('TRIB_PEER_CONFIG', 'the data plane needs a non-empty job secret');
    this.opts = opts;
    this.key = dataPlaneKey(opts.secret);
    const id = opts.identity;
    this.members = new Membership(
      { generation: id.generation ?? 0, parallelism: id.parallelism, jobHash: id.jobHash },
      id.slot,
    );
    for (let s = 0; s < id.parallelism; s++) if (s !== id.slot) this.peers.add(s);
    this.metrics = opts.metrics ?? new NetMetrics();
    this.linkOpts = {
      channels: opts.channels,
      credits: opts.credits ?? DEFAULT_CREDITS,
      frameBytes: opts.frameBytes ?? 32 * 1024,
      maxQueuedFrames: opts.maxQueuedFrames ?? 2,
      metrics: this.metrics,
      logger: opts.logger,
      onControl: (from, msg) => this.controlHandler(from, msg),
      onBye: (slot) => this.forget(slot),
    };
    this.server = new DataServer({
      host: opts.host,
      port: opts.port,
      identity: opts.identity,
      members: this.members,
      key: this.key,
      metrics: this.metrics,
      logger: opts.logger,
      ...(opts.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: opts.handshakeTimeoutMs } : {}),
      connected: () => this.inboundSlots,
      onAccept: (c) => {
        this.inboundSlots.add(c.hello.fromSlot);
        this.inbound.set(
          c.hello.fromSlot,
          new InboundLink(c.socket, c.decoder, c.hello.fromSlot, this.linkOpts, c.leftover),
        );
        opts.logger.debug({ from: c.hello.fromSlot }, 'data-plane inbound link up');
      },
    });
  }

  private controlHandler: (fromSlot: number, msg: unknown) => void = (from, msg) => this.opts.onControl?.(from, msg);

  /** Replaces the CONTROL message handler. */
  setControlHandler(h: (fromSlot: number, msg: unknown) => void): void {
    this.controlHandler = h;
  }

  /** Sends a CONTROL message to `slot` over this slot's outbound link (best effort: false when it is down). */
  sendControl(slot: number, msg: unknown): boolean {
    return this.outbound.get(slot)?.sendControl(msg) ?? false;
  }

  get identity(): Identity {
    return this.opts.identity;
  }

  async listen(): Promise<number> {
    this.port = await this.server.listen();
    return this.port;
  }

  /** Linked both ways with every peer this plane expects. */
  get connected(): boolean {
    for (const s of this.peers) if (!this.outbound.has(s) || !this.inbound.has(s)) return false;
    return true;
  }

  /**
   * Dials the addresses `discover` returns (again every `retryMs`) until linked both ways
   * with every other slot. `self` is this slot's advertised address (skipped).
   */
  async connect(
    discover: () => Promise<string[]>,
    opts: { self: string; timeoutMs: number; retryMs?: number },
  ): Promise<void> {
    const id = this.opts.identity;
    const log = this.opts.logger;
    const hello = this.hello();
    const deadline = Date.now() + opts.timeoutMs;
    const linkedAddresses = new Set<string>();
    let lastProblem = '';
    while (!this.connected) {
      if (Date.now() > deadline) throw this.notLinked(opts.timeoutMs, lastProblem);
      let addresses: string[] = [];
      try {
        addresses = await discover();
      } catch (e) {
        lastProblem = (e as Error).message;
        log.warn({ err: lastProblem }, 'peer discovery failed; retrying');
      }
      const todo = addresses.filter((a) => a !== opts.self && !linkedAddresses.has(a));
      await Promise.all(
        todo.map(async (address) => {
          try {
            const r = await dial(address, hello, this.key);
            const slot = r.welcome.slot;
            if (slot === id.slot || this.outbound.has(slot)) {
              r.socket.destroy();
              return;
            }
            this.outbound.set(slot, new OutboundLink(r.socket, r.decoder, slot, this.linkOpts, r.leftover));
            linkedAddresses.add(address);
            log.debug({ to: slot, address }, 'data-plane outbound link up');
          } catch (e) {
            lastProblem = (e as Error).message;
            log.debug({ address, err: lastProblem }, 'peer not reachable yet');
          }
        }),
      );
      if (!this.connected) await new Promise((r) => setTimeout(r, opts.retryMs ?? 200));
    }
    log.info({ slot: id.slot, peers: this.peers.size }, 'data plane connected');
  }

  /**
   * Links with the other slot threads of this process over the MessagePorts their supervisor
   * made (port-socket.ts), instead of listening and dialing: the same handshake, links and
   * frames as over TCP, so a port-linked slot checks its peers' job, deployment and secret as a
   * pod does. A port is good for one connection: a failed handshake fails the start at once.
   */
  async connectPorts(ports: ThreadPorts, timeoutMs: number): Promise<void> {
    const id = this.opts.identity;
    // A peer thread may reach this point long after this one (a slow import or restore lookup):
    // its handshake may take as long as linking may, not the 10 s a dialing pod gets.
    const lost = acceptPorts(this.server, ports.inbound, timeoutMs, (from) => this.inbound.has(from));
    const dials = await Promise.allSettled(
      [...ports.outbound].map(([to, port]) => dialPort(to, port, this.hello(), this.key, timeoutMs)),
    );
    const failed = dials.find((d) => d.status === 'rejected');
    for (const d of dials)
      if (d.status === 'fulfilled') {
        const { to, r } = d.value;
        if (failed) r.socket.destroy();
        else this.outbound.set(to, new OutboundLink(r.socket, r.decoder, to, this.linkOpts, r.leftover));
      }
    if (failed) throw failed.reason;
    await linkedBy(
      () => this.failure,
      () => this.connected,
      lost,
      Date.now() + timeoutMs,
      () => this.notLinked(timeoutMs, ''),
    );
    this.opts.logger.info({ slot: id.slot, peers: this.peers.size, transport: 'ports' }, 'data plane connected');
  }

  /**
   * Links both ways with `slot` (a member of the newest generation, not there at start) over the
   * MessagePorts the supervisor made for the pair (`threadJoinPorts`): the thread analogue of
   * `addPeer`. A port is good for one connection, so nothing is retried: a refused handshake or a
   * port closed during it fails the call, naming the slot.
   */
  async addPeerPorts(
    slot: number,
    ports: { outbound: MessagePort; inbound: MessagePort },
    timeoutMs = 30_000,
  ): Promise<void> {
    try {
      this.checkNewPeer(slot);
    } catch (e) {
      // Closed, so the new slot's handshakes on them fail at once instead of at their timeout.
      ports.outbound.close();
      ports.inbound.close();
      throw e;
    }
    this.peers.add(slot);
    const lost = acceptPorts(this.server, new Map([[slot, ports.inbound]]), timeoutMs, (from) =>
      this.inbound.has(from),
    );
    const { r } = await dialPort(slot, ports.outbound, this.hello(), this.key, timeoutMs);
    this.outbound.set(slot, new OutboundLink(r.socket, r.decoder, slot, this.linkOpts, r.leftover));
    const why = `slot ${this.opts.identity.slot}: no link from new slot ${slot} over its port after ${timeoutMs} ms`;
    await linkedBy(
      () => this.failure,
      () => this.inbound.has(slot),
      lost,
      Date.now() + timeoutMs,
      () => {
        return new TributaryError('TRIB_PEER_TIMEOUT', why);
      },
    );
    this.opts.logger.info({ peer: slot, transport: 'ports' }, 'data-plane link to a new peer up');
  }

  /** This slot's HELLO: as a member of the newest generation it knows (a prepared one, once told). */
  private hello(): UnsignedHello {
    const id = this.opts.identity;
    const g = this.members.newest;
    return {
      protocol: PROTOCOL_VERSION,
      deploymentId: id.deploymentId,
      jobHash: g.jobHash,
      fromSlot: id.slot,
      parallelism: g.parallelism,
      generation: g.generation,
    };
  }

  private notLinked(timeoutMs: number, lastProblem: string): TributaryError {
    const id = this.opts.identity;
    const others = [...this.peers].sort((a, b) => a - b);
    const missingOut = others.filter((s) => !this.outbound.has(s));
    const missingIn = others.filter((s) => !this.inbound.has(s));
    return new TributaryError(
      'TRIB_PEER_TIMEOUT',
      `slot ${id.slot} of deployment ${id.deploymentId}: peers not linked after ${timeoutMs} ms (no link to slots [${missingOut.join(',')}], none from [${missingIn.join(',')}])${lastProblem ? `; last problem: ${lastProblem}` : ''}`,
    );
  }

  /**
   * Accepts peers of membership `generation` (slots 0..parallelism−1 presenting `jobHash`) from
   * now on, and presents it in this slot's HELLOs. Every running slot is told before the
   * generation's new slots start, and before any running slot calls addPeer.
   */
  prepareGeneration(generation: number, parallelism: number, jobHash = this.opts.identity.jobHash): void {
    this.members.prepare({ generation, parallelism, jobHash });
    this.opts.logger.info({ generation, parallelism }, 'data plane: membership generation prepared');
  }

  /** The rescale to `generation` completed: HELLOs of older generations are refused as stale. */
  commitGeneration(generation: number): void {
    this.members.commit(generation);
  }

  /**
   * Links both ways with `slot` (a member of the newest generation, not there at start): dials
   * `address` (again every `retryMs`: the new slot may not listen yet) until its WELCOME names
   * `slot`, then waits for the link the slot dials here. Its channels are credit-controlled
   * like every other; `outboundChannel`/`inboundChannel` return them from then on.
   */
  async addPeer(slot: number, address: string, opts: { timeoutMs?: number; retryMs?: number } = {}): Promise<void> {
    const id = this.opts.identity;
    const g = this.members.newest;
    this.checkNewPeer(slot);
    this.peers.add(slot);
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    let lastProblem = '';
    while (this.peers.has(slot) && !(this.outbound.has(slot) && this.inbound.has(slot))) {
      if (Date.now() > deadline)
        throw new TributaryError(
          'TRIB_PEER_TIMEOUT',
          `slot ${id.slot}: slot ${slot} at ${address} not linked after ${timeoutMs} ms (${this.outbound.has(slot) ? 'no link from it' : 'no link to it'})${lastProblem ? `; last problem: ${lastProblem}` : ''}`,
        );
      if (!this.outbound.has(slot)) {
        try {
          const r = await dial(address, this.hello(), this.key);
          if (r.welcome.slot !== slot || this.outbound.has(slot) || !this.peers.has(slot)) {
            r.socket.destroy();
            lastProblem = `${address} is slot ${r.welcome.slot}`;
          } else {
            this.outbound.set(slot, new OutboundLink(r.socket, r.decoder, slot, this.linkOpts, r.leftover));
            this.opts.logger.info({ to: slot, address, generation: g.generation }, 'data-plane link to a new peer up');
            continue;
          }
        } catch (e) {
          lastProblem = (e as Error).message;
          this.opts.logger.debug({ address, err: lastProblem }, 'new peer not reachable yet');
        }
      }
      await new Promise((r) => setTimeout(r, opts.retryMs ?? 200));
    }
  }

  /** Refuses a slot that is not another member of the newest generation, or is linked already. */
  private checkNewPeer(slot: number): void {
    const g = this.members.newest;
    if (!Number.isInteger(slot) || slot < 0 || slot >= g.parallelism || slot === this.opts.identity.slot)
      throw new TributaryError(
        'TRIB_PEER_CONFIG',
        `slot ${slot} is not another member of generation ${g.generation} (parallelism ${g.parallelism})`,
      );
    if (this.outbound.has(slot)) throw new TributaryError('TRIB_PEER_CONFIG', `slot ${slot} is already linked`);
  }

  /**
   * Retires the links with `slot` (it left the membership, after its channels ended: what they
   * still hold is dropped). The peer gets BYE on both links, so neither end counts the close
   * as a failure; resolves once both connections closed.
   */
  async removePeer(slot: number): Promise<void> {
    if (slot === this.opts.identity.slot)
      throw new TributaryError('TRIB_PEER_CONFIG', `slot ${slot} cannot remove itself as a peer`);
    const links = [this.outbound.get(slot), this.inbound.get(slot)].filter((l) => l !== undefined);
    for (const l of links) l.retire();
    this.forget(slot);
    await Promise.all(links.map((l) => l.closed()));
    this.opts.logger.info({ peer: slot }, 'data plane: peer removed');
  }

  /** Drops `slot` from the expected peers and the retired links with it from the maps (it may rejoin later). */
  private forget(slot: number): void {
    this.peers.delete(slot);
    if (this.outbound.get(slot)?.retired) this.outbound.delete(slot);
    if (this.inbound.get(slot)?.retired) {
      this.inbound.delete(slot);
      this.inboundSlots.delete(slot);
    }
  }

  outboundChannel(toSlot: number, channel: number): OutboundChannel {
    const ch = this.outbound.get(toSlot)?.channels[channel];
    if (!ch) throw new TributaryError('TRIB_NET_PROTOCOL', `no outbound channel ${channel} to slot ${toSlot}`);
    return ch;
  }

  inboundChannel(fromSlot: number, channel: number): InboundChannel {
    const ch = this.inbound.get(fromSlot)?.channels[channel];
    if (!ch) throw new TributaryError('TRIB_NET_PROTOCOL', `no inbound channel ${channel} from slot ${fromSlot}`);
    return ch;
  }

  /** First link failure, if any. */
  get failure(): Error | undefined {
    for (const l of this.outbound.values()) if (l.failure) return l.failure;
    for (const l of this.inbound.values()) if (l.failure) return l.failure;
    return undefined;
  }

  /** Resolves when everything this slot produced reached the OS (every channel ended). */
  async drain(): Promise<void> {
    await Promise.all([...this.outbound.values()].map((l) => l.drained()));
  }

  async close(): Promise<void> {
    for (const l of this.outbound.values()) l.close();
    for (const l of this.inbound.values()) l.close();
    await this.server.close();
  }

  /** Immediate teardown (failure): peers see their links fail. */
  async destroy(): Promise<void> {
    for (const l of this.outbound.values()) l.destroy();
    for (const l of this.inbound.values()) l.destroy();
    await this.server.close();
  }
}
