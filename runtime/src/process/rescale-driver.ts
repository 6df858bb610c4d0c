// Slot 0's live rescales when its slots are threads or processes (`tributary run`, `--threads`,
// `--distributed`) or slot pods: POST /v1/migrations through the control API, as in a one-thread run
// (control/migration-routes.ts), with the host doing what only it can (rescale-host.ts: a local supervisor,
// slot-host.ts; for pods slot 0 itself with the operator's help, rescale-host-pods.ts).
//
//   scale out N → N': one slot at a time (a joining slot is built with inputs from every slot of its
//     generation, so two joining at once would hold each other's barriers: rescale-across.ts). For
//     each: the host records N+1 and starts the slot (a pod host: the operator creates it when the
//     migration's status says `awaiting` it), every running slot links with it, then the job
//     wires it in and moves its key groups and partitions to it (JobExecutor.rescale).
//   scale in N → N': the host records N' (a restart starts N' slots), then the job moves everything
//     off slots N'..N−1, which drain, commit, leave and exit 0 (the host's attempt goes on without them).
//
// Refused before anything is recorded or started (`check`): what the job cannot do (no checkpoints,
// an index source, a target outside 1..maxParallelism, a rescale under way) leaves the run as it was.
// Reported to the tracker as one migration from N to N': its id and start are the first part's, the
// steps and key groups add up over the parts.
import type { JoiningSlot } from '../core/migration.ts';
import { TributaryError } from '../errors.ts';
import type { RescaleOptions } from '../rescale/rescale-local.ts';
import type { RescaleProgress, RescaleReport } from '../rescale/rescale-progress.ts';
import type { MigrationProgress, Rescalable } from '../control/migration-tracker.ts';
import type { RescaleHost } from '../rescale/rescale-host.ts';
import type { SlotProcess } from './slot-process.ts';
import type { ValidatedGraph } from '../graph/validate.ts';
import { scaleInAcross } from './rescale-scale-in.ts';
import { placedAcross } from '../rescale/placement.ts';

export interface HostedJob {
  /** The job's parallelism now. */
  readonly parallelism: number;
  /** Throws the job's refusal (TRIB_RESCALE_UNSUPPORTED, _PLAN_INVALID) when it cannot rescale live to `to` now. */
  checkRescale(to: number): void;
  rescale(to: number, opts?: RescaleOptions): Promise<RescaleReport>;
  /** Fails the job: the host restarts it, at the parallelism it recorded last, from the last checkpoint. */
  fail(e: unknown): void;
}

export function hostedRescalable(
  host: RescaleHost,
  job: () => HostedJob | undefined,
  budgetBytes?: number,
): Rescalable {
  let generation = 0;
  return {
    async rescale(to, { onProgress }) {
      const j = job();
      if (!j) throw new TributaryError('TRIB_RESCALE_UNSUPPORTED', 'live rescale: slot 0 is not running yet');
      j.checkRescale(to);
      const from = j.parallelism;
      const done = { steps: 0, keyGroups: 0, bytes: 0 };
      let first: RescaleProgress | undefined;
      const startedAt = new Date().toISOString();
      // A host that waits for someone else to start the joining slot (slot pods) says which: the migration is
      // accepted (the caller gets its id) and its status names that slot while the host waits.
      const awaiting = (slot: JoiningSlot | undefined): void =>
        onProgress({
          ...(first ? { id: first.id, startedAt: first.startedAt } : { startedAt }),
          from,
          to,
          phase: 'joining',
          stepsDone: done.steps,
          steps: done.steps,
          keyGroupsMoved: done.keyGroups,
          keyGroups: done.keyGroups,
          bytesMoved: done.bytes,
          bytes: done.bytes,
          ...(slot ? { awaiting: slot } : {}),
        });
      const part = async (n: number): Promise<void> => {
        // Every part records the whole target: a restart after any of them starts `to` slots (§6's intent).
        await host.rescale(n, ++generation, to, awaiting).catch((e: unknown) => {
          // The host may have started a slot or recorded n: only a restart leaves no half-joined slot behind.
          j.fail(e);
          throw e;
        });
        // A rescale refused or failed once its slot was started would leave that slot waiting for ever: a
        // failure here fails the job, which restarts at the parallelism the host recorded
        // (docs/design/live-rescale.md §6).
        const report = await j
          .rescale(n, {
            ...(budgetBytes !== undefined ? { budgetBytes } : {}),
            onProgress: (p) => {
              first ??= p;
              onProgress(overall(p, first, done, from, to));
            },
          })
          .catch((e: unknown) => {
            j.fail(e);
            throw e;
          });
        done.steps += report.steps;
        done.keyGroups += report.keyGroups;
        done.bytes += report.bytes;
      };
      if (to < from) await part(to);
      else for (let n = from + 1; n <= to; n++) await part(n);
    },
  };
}

/** A part's progress as the whole migration's: the first part's id and start, totals over the parts so far. */
function overall(
  p: RescaleProgress,
  first: RescaleProgress,
  done: { steps: number; keyGroups: number; bytes: number },
  from: number,
  to: number,
): MigrationProgress {
  return {
    id: first.id,
    startedAt: first.startedAt,
    from,
    to,
    // A part that finished is not the whole: only the last part's end is done.
    phase: p.phase === 'done' && p.to !== to ? 'moving' : p.phase,
    stepsDone: done.steps + p.stepsDone,
    steps: done.steps + p.steps,
    keyGroupsMoved: done.keyGroups + p.keyGroupsMoved,
    keyGroups: done.keyGroups + p.keyGroups,
    bytesMoved: done.bytes + p.bytesMoved,
    bytes: done.bytes + p.bytes,
    ...(p.finishedAt !== undefined && p.to === to ? { finishedAt: p.finishedAt } : {}),
  };
}

/** A slot process's job as slot 0 rescales it (none until it runs): joins by JobExecutor.rescale, scale in here. */
export function hostedJob(slot: SlotProcess, graph: ValidatedGraph): HostedJob | undefined {
  const job = slot.executor;
  if (!job) return undefined;
  return {
    get parallelism() {
      return job.parallelism;
    },
    checkRescale: (to) => job.checkRescaleAcross(to),
    fail: (e) => job.fail(e),
    // Every slot holds the partitions it finds until the rescale is done, then places them at `to`.
    rescale: (to, o) =>
      placedAcross(
        slot.placement,
        () => job.parallelism,
        to,
        () =>
          to > job.parallelism
            ? job.rescale(to, o)
            : scaleInAcross(
                {
                  job,
                  sources: graph.spec.sources,
                  scaleIn: (plan, onStep) => slot.scaleIn(plan, onStep),
                  logger: slot.opts.logger,
                },
                to,
                o,
              ),
      ),
  };
}
