// The slots of bench/live-rescale.ts as slot pods of a StreamJob on the local cluster: the REAL
// runtime run by the node agent (as processes, or in containers on a second, container-mode node:
// test/image/container-node.ts), the StreamJob controller in-process (kafka-job-harness.ts), state
// on the cluster's S3 server. One job for the whole schedule; each rescale is one merge patch of
// `spec: {replicas, rescale: {mode}}` (what `kubectl patch` sends; `rescale.mode` alone changes
// nothing running, so the patch is a replicas-only change that the mode carries out):
//   live      = the operator's liveRescale: the running pods move to N slots, same deployment;
//   savepoint = the operator's savepoint rescale: stop-with-savepoint, new pods restore it.
//
// A silent fallback fails the bench (live-rescale-verdict.ts): a live rescale must end with
// status.rescales' newest entry `mode: live` for the same deployment and its migration COMPLETED; a
// savepoint one with `mode: savepoint` and a new deployment. Between rescales the deployment must not
// change and the job must not fail or restart (a failed live rescale restarts from the last
// checkpoint: exactly-once too, but not what is measured).
import type { StreamJob, StreamJobStatus } from '../operator/src/api/v1alpha1/streamjob.ts';
import { Resources } from '../operator/src/kube/index.ts';
import { waitFor } from '../operator/src/kube/testing/cluster.ts';
import type { Pod } from '../operator/src/controllers/streamjob/objects/slot-pod.ts';
import { StreamJobs } from '../operator/src/controllers/streamjob/resource.ts';
import {
  getJob,
  runningWith,
  startHarness,
  type Harness,
} from '../operator/src/controllers/streamjob/testing/kafka-job-harness.ts';
import { TributaryError } from '../runtime/src/errors.ts';
import type { GraphSpec } from '../runtime/src/graph/spec.ts';
import { NODE_NAME, RUNTIME_IMAGE, startContainerNode, type ContainerNode } from '../test/image/container-node.ts';
import { MAXP, sleep, type RescaleHost } from './live-rescale-host.ts';
import type { Mode } from './live-rescale-stats.ts';
import { notAsRequested, notSteady, requestedMigration, type Requested } from './live-rescale-verdict.ts';
import { clusterReachable } from './rescale-downtime.ts';

export type PodRuntime = 'process' | 'container';

const NAME = 'live-bench';
/** How often the job's status is read while a rescale runs (its marks are this coarse). */
const POLL_MS = 100;
/** Savepoint steps after which the old pods have stopped writing (their stop-with-savepoint completed). */
const AFTER_SAVEPOINT = new Set(['state-ready', 'old-pods-gone', 'starting']);

/** Why the pod hosts cannot run here, if so (no cluster, no S3 server). */
export async function podHostUnavailable(): Promise<string | undefined> {
  const skip = await clusterReachable();
  if (skip) return skip;
  if (!process.env['TRIBUTARY_S3_ENDPOINT']) return 'no S3 server in the local cluster (up --with kafka,s3)';
  return undefined;
}

export class PodHost implements RescaleHost {
  private readonly h: Harness;
  private readonly graph: GraphSpec;
  private readonly node: ContainerNode | undefined;
  /** The deployment the job must be running: changes only in a savepoint rescale. */
  private deployment = '';
  private restarts = 0;
  private lastCheck = 0;

  private constructor(h: Harness, graph: GraphSpec, node: ContainerNode | undefined) {
    this.h = h;
    this.graph = graph;
    this.node = node;
  }

  /** The harness (namespace, in-process operator); for containers, the container node (image of this checkout). */
  static async create(runtime: PodRuntime, graph: GraphSpec): Promise<PodHost> {
    const node = runtime === 'container' ? await startContainerNode('bench-lrp-ctr') : undefined;
    try {
      return new PodHost(await startHarness('bench-lrp', {}), graph, node);
    } catch (e) {
      await node?.stop();
      throw e;
    }
  }

  async start(parallelism: number): Promise<void> {
    await this.h.createJob(NAME, {
      replicas: parallelism,
      maxParallelism: MAXP,
      upgradeMode: 'savepoint',
      rescale: { mode: 'live' },
      checkpointing: { interval: '1s', timeout: '30s', retained: 2 },
      savepoints: { timeout: '120s' },
      ...(this.node
        ? { image: RUNTIME_IMAGE, podTemplate: { nodeSelector: { 'kubernetes.io/hostname': NODE_NAME } } }
        : {}),
      graph: this.graph,
    });
    const j = await runningWith(this.h.kube, this.h.ns, NAME, parallelism, undefined, 300_000);
    this.deployment = j.status!.deployed!.id;
    this.restarts = j.status?.restarts ?? 0;
  }

  async wait(ms: number): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
      if (Date.now() - this.lastCheck >= 1000) this.expectSteady(await this.job());
      if (Date.now() >= until) return;
      await sleep(Math.min(200, until - Date.now()));
    }
  }

  async liveRescale(to: number, marks: Record<string, number>, t0: number): Promise<{ doneAt: number; note: string }> {
    const r = await this.request(to, 'live');
    const j = await this.untilDone(r, marks, t0, (s) => requestedMigration(s, r, t0)?.phase);
    const m = requestedMigration(j.status!, r, t0)!;
    const note = `${m.stepsDone}/${m.steps} steps, ${m.keyGroupsMoved} key groups, ${(m.bytesMoved / 1e6).toFixed(1)} MB`;
    // The operator's record of when slot 0 reported it done; the bench's poll adds nothing to it.
    return { doneAt: m.finishedAt ? Date.parse(m.finishedAt) : t0 + marks['Ready']!, note };
  }

  /** From the first step seen after the stop-with-savepoint completed, every output write is the new pods'. */
  async savepointRescale(to: number, marks: Record<string, number>, t0: number): Promise<number> {
    const r = await this.request(to, 'savepoint');
    const j = await this.untilDone(r, marks, t0, (s) => s.pendingOperation?.step);
    this.deployment = j.status!.deployed!.id;
    this.restarts = j.status?.restarts ?? 0;
    const stopped = Object.entries(marks)
      .filter(([k]) => AFTER_SAVEPOINT.has(k) || k === 'Ready')
      .map(([, v]) => v);
    return t0 + Math.min(...stopped);
  }

  /** Suspend (upgradeMode savepoint: a stop-with-savepoint): every transaction committed, the pods gone. */
  async finish(): Promise<void> {
    await this.h.kube.patch(StreamJobs, this.h.ns, NAME, { spec: { state: 'suspended' } });
    await waitFor(
      `${NAME} Suspended`,
      async () => {
        const j = await this.job();
        if (j.status?.phase === 'Failed') throw this.failed(j, 'failed while suspending');
        return j.status?.phase === 'Suspended' && !j.status.pendingOperation && (await this.pods()) === 0;
      },
      180_000,
      250,
    );
  }

  async close(): Promise<void> {
    await this.h.kube.delete(StreamJobs, this.h.ns, NAME).catch(() => undefined);
    await waitFor(`${NAME} pods gone`, async () => (await this.pods()) === 0, 120_000, 250).catch(() => undefined);
    await this.h.close().catch(() => undefined);
    await this.node?.stop().catch(() => undefined);
  }

  /** The patch a user sends (`kubectl patch sj … {spec: {replicas, rescale: {mode}}}`). */
  private async request(to: number, mode: Mode): Promise<Requested> {
    const j = await this.job();
    this.expectSteady(j);
    await this.h.kube.patch(StreamJobs, this.h.ns, NAME, { spec: { replicas: to, rescale: { mode } } });
    return { mode, from: j.status!.deployed!.parallelism, to, deployment: this.deployment };
  }

  /**
   * Polls until the job is Running at r.to with no operation pending, then checks it ran as `r`
   * asked; marks the first time each value of `phase(status)` was seen, and Ready when it is done.
   * A Failed job or a restart on the way ends the bench.
   */
  private async untilDone(
    r: Requested,
    marks: Record<string, number>,
    t0: number,
    phase: (s: StreamJobStatus) => string | undefined,
  ): Promise<StreamJob> {
    const until = Date.now() + 300_000;
    for (;;) {
      const j = await this.job();
      const s = j.status ?? {};
      const p = phase(s);
      if (p) marks[p] ??= Date.now() - t0;
      const broken = notSteady(s, s.deployed?.id ?? '', this.restarts);
      if (broken) throw this.failed(j, broken);
      const seen = (s.observedGeneration ?? 0) >= (j.metadata.generation ?? 0);
      if (seen && s.phase === 'Running' && !s.pendingOperation && s.deployed?.parallelism === r.to) {
        marks['Ready'] = Date.now() - t0;
        const wrong = notAsRequested(s, r, t0);
        if (wrong) throw this.failed(j, wrong);
        return j;
      }
      if (Date.now() > until) throw this.failed(j, `not Running at ${r.to} after 300 s`);
      await sleep(POLL_MS);
    }
  }

  private expectSteady(j: StreamJob): void {
    this.lastCheck = Date.now();
    const broken = notSteady(j.status ?? {}, this.deployment, this.restarts);
    if (broken) throw this.failed(j, broken);
  }

  private job(): Promise<StreamJob> {
    return getJob(this.h.kube, this.h.ns, NAME);
  }

  private async pods(): Promise<number> {
    const items = (
      await this.h.kube.list<Pod>(Resources.Pod, this.h.ns, { labelSelector: `tributary.dev/job=${NAME}` })
    ).items;
    return items.length;
  }

  /** The error for a job that went wrong, with what its status says (phase, operation, migration, rescales). */
  private failed(j: StreamJob, what: string): TributaryError {
    const s = j.status ?? {};
    const seen = {
      phase: s.phase,
      deployed: s.deployed?.id,
      parallelism: s.deployed?.parallelism,
      restarts: s.restarts,
    };
    return new TributaryError(
      'TRIB_JOB_FAILED',
      `StreamJob ${this.h.ns}/${NAME}: ${what}; status ${JSON.stringify({
        ...seen,
        pendingOperation: s.pendingOperation && { kind: s.pendingOperation.kind, step: s.pendingOperation.step },
        migration: s.migration,
        rescales: s.rescales?.slice(-2),
        message: s.conditions?.find((c) => c.type === 'Reconciling')?.message,
      })}`,
    );
  }
}
