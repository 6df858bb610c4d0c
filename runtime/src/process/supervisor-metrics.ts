// Metrics of the local supervisor (`tributary run --metrics-port P` on threads or processes):
// restarts and whether the attempts make progress. Its endpoint serves them with every slot's
// (cli/supervised-metrics.ts); each slot also serves its own on its metrics port. With them, the
// supervisor's process metrics (prom-client's defaults): on threads that is the job's whole
// process, which its slots leave out; with slot processes, each slot reports its own process
// and the supervisor's adds its own (summed, the run's whole CPU and memory).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { DEFAULT_METRICS_PREFIX } from '../telemetry/metrics.ts';

export class SupervisorMetrics {
  readonly registry = new Registry();
  readonly restarts: Counter;
  readonly attemptsWithoutCheckpoint: Gauge;
  readonly backoff: Gauge;
  readonly timeToFirstCheckpoint: Gauge;

  /** `processMetrics`: only when they are served (their event-loop monitor costs CPU). */
  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: DEFAULT_METRICS_PREFIX });
    this.restarts = new Counter({
      name: 'tributary_restarts_total',
      help: 'Whole-job restarts after a slot failed',
      registers,
    });
    this.attemptsWithoutCheckpoint = new Gauge({
      name: 'tributary_attempts_without_checkpoint',
      help: 'Attempts in a row that ended before any checkpoint completed (0 once one completes)',
      registers,
    });
    this.backoff = new Gauge({
      name: 'tributary_restart_backoff_seconds',
      help: 'Wait before the last restart',
      registers,
    });
    this.timeToFirstCheckpoint = new Gauge({
      name: 'tributary_time_to_first_checkpoint_seconds',
      help: 'From the slots of an attempt started to its first completed checkpoint, as last measured',
      registers,
    });
  }
}
