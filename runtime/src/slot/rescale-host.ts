// The rescale-host stage of a slot process's start (slot-main.ts). A local run's slot 0
// rescales live with its host's help (hosted-migrations.ts); a pod's slot 0 is its own host
// (pod-links.ts: the operator creates the joining pod), and every running slot pod links with
// joining ones. Made before the control API starts (slot 0's takes the migrations), wired to
// the slot once it is built.
import { MigrationTracker } from '../control/migration-tracker.ts';
import { DATA_PORT } from '../control/contract.ts';
import { hostedJob, hostedRescalable } from '../process/rescale-driver.ts';
import { lazyPodLister } from '../process/peer-discovery.ts';
import { DEFAULT_JOIN_WAIT_MS, PodLinks } from '../process/rescale-pod-links.ts';
import { rescaleBudgetBytes } from '../process/slot-env.ts';
import { slotHostOfThisSlot, type SlotHost } from '../process/slot-host.ts';
import type { SlotProcess } from '../process/slot-process.ts';
import type { SlotConfiguration } from './configuration.ts';
import type { SlotHandle } from './slot-handle.ts';

export interface SlotRescaleHost {
  /** A local supervisor's host (--threads, --distributed); none in a pod. */
  host: SlotHost | undefined;
  /** A slot pod's links with joining pods. */
  podLinks: PodLinks | undefined;
  /** Slot 0's live rescales, when it has a host to run them with. */
  migrations: MigrationTracker | undefined;
}

export function slotRescaleHost(
  { env, logger, peerTimeoutMs, graph }: SlotConfiguration,
  handle: SlotHandle,
): SlotRescaleHost {
  const host = slotHostOfThisSlot();
  const podLinks =
    !host && env.podName && env.peerSelector && !env.peers
      ? new PodLinks({
          slot: env.slot,
          list: lazyPodLister({ namespace: env.namespace, podRoot: env.podRoot }),
          selector: env.peerSelector,
          port: env.dataPort === 0 ? DATA_PORT : env.dataPort,
          timeoutMs: peerTimeoutMs ?? DEFAULT_JOIN_WAIT_MS,
          logger,
        })
      : undefined;
  const rescaleHost = host ?? podLinks?.host;
  const budgetEnv = process.env['TRIBUTARY_RESCALE_BUDGET_BYTES'];
  const migrations =
    rescaleHost && env.slot === 0
      ? new MigrationTracker(
          hostedRescalable(
            rescaleHost,
            () => handle.built && hostedJob(handle.built, graph),
            rescaleBudgetBytes(budgetEnv),
          ),
        )
      : undefined;
  return { host, podLinks, migrations };
}

/** The slot, built: it follows link orders, and links with the slots a live rescale starts. */
export function wireRescaleHost({ host, podLinks }: SlotRescaleHost, slot: SlotProcess): void {
  podLinks?.attach(slot);
  // A local supervisor (--threads, --distributed) has running slots link with the slots a live rescale starts.
  host?.handleLinks(async (generation, parallelism, peers) => {
    slot.prepareJoin(generation, parallelism);
    await Promise.all(
      peers.map((p) => (p.ports ? slot.addPeerPorts(p.slot, p.ports) : slot.addPeer(p.slot, p.address as string))),
    );
  });
}
