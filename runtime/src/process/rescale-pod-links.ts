// A slot pod's part in a live scale out (no local supervisor: slot-host.ts is for local runs). Every running
// slot follows slot 0's link orders (join-link-order.ts): it finds the joining pod through the Kubernetes API and
// links with it, then answers; slot 0 also hosts the rescale (rescale-host-pods.ts), whose orders and answers
// ride the data plane's CONTROL frames. Built before the slot (slot 0's control API takes the host at
// start), attached once the slot exists.
import type { Logger } from 'pino';
import { TributaryError } from '../errors.ts';
import { answerOf, followLinkOrder, type LinkOrderRpc } from '../rescale/join-link-order.ts';
import { kubernetesSlotFinder, type ListPods } from './peer-discovery.ts';
import { PodRescaleHost } from '../rescale/rescale-host-pods.ts';
import type { SlotProcess } from './slot-process.ts';

/**
 * How long a running slot waits for a joining pod by default: as long as a pod of a starting deployment waits for
 * its peers (SlotProcess's connect timeout, TRIBUTARY_PEER_TIMEOUT's default), since the operator creating the pod
 * and the pod starting (scheduling, image pull, the runtime's start) take what a deployment's start takes.
 */
export const DEFAULT_JOIN_WAIT_MS = 120_000;

export interface PodLinksOptions {
  /** This pod's slot. */
  slot: number;
  list: ListPods;
  /** TRIBUTARY_PEER_SELECTOR: the deployment's pods. */
  selector: string;
  /** The data-plane port of every pod (contract DATA_PORT). */
  port: number;
  /** How long the running slots wait for the joining pod to be found and linked. */
  timeoutMs: number;
  logger: Logger;
}

export class PodLinks {
  /** Slot 0's host of live rescales (rescale-driver.ts); undefined on the other slots. */
  readonly host: PodRescaleHost | undefined;
  private readonly o: PodLinksOptions;
  private readonly find: ReturnType<typeof kubernetesSlotFinder>;
  private slot: SlotProcess | undefined;

  constructor(o: PodLinksOptions) {
    this.o = o;
    this.find = kubernetesSlotFinder(o.list, {
      selector: o.selector,
      port: o.port,
      onError: (e) => o.logger.warn({ err: String(e) }, 'live rescale: listing the joining pod failed; retrying'),
    });
    this.host =
      o.slot === 0
        ? new PodRescaleHost({
            parallelism: () => this.slot?.executor?.parallelism,
            send: (s, msg) => this.slot?.dataPlane.sendControl(s, msg) ?? false,
            followHere: (order) => this.follow(order),
            timeoutMs: o.timeoutMs,
            logger: o.logger,
          })
        : undefined;
  }

  /** The slot, built: from now on it follows link orders (and slot 0 hears their answers). */
  attach(slot: SlotProcess): void {
    this.slot = slot;
    slot.linkOrders = (from, msg) => this.receive(from, msg);
  }

  private receive(from: number, msg: LinkOrderRpc): void {
    if (msg.m === 'link-answer') {
      this.host?.receive(msg);
      return;
    }
    const { id, slot, generation, parallelism, timeoutMs } = msg;
    this.o.logger.info({ slot, generation, parallelism }, 'live rescale: linking with the joining slot pod');
    void answerOf(id, this.follow({ slot, generation, parallelism, timeoutMs })).then((answer) => {
      if (answer.error !== undefined)
        this.o.logger.warn({ slot, err: answer.error }, 'live rescale: could not link with the joining slot pod');
      if (!this.slot?.dataPlane.sendControl(from, answer))
        this.o.logger.warn({ to: from }, 'live rescale: link answer not sent: the link to slot 0 is down');
    });
  }

  private follow(order: Parameters<typeof followLinkOrder>[1]): Promise<void> {
    const s = this.slot;
    if (!s)
      return Promise.reject(new TributaryError('TRIB_RESCALE_UNSUPPORTED', 'live rescale: the slot is not built'));
    return followLinkOrder(
      {
        slot: this.o.slot,
        prepareJoin: (g, p) => s.prepareJoin(g, p),
        addPeer: (peer, address, ms) => s.addPeer(peer, address, ms),
      },
      order,
      this.find,
    );
  }
}
