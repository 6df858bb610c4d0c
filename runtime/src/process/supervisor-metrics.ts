// Metrics of the local supervisor (`tributary run --metrics-port P` on threads or processes):
// restarts and whether the attempts make progress. Its endpoint serves them with every slot's
// (cli/supervised-metrics.ts); each slot also serves its own on its metrics port.
import { Counter, Gauge, Registry } from 'prom-client';

export class SupervisorMetrics {
  readonly registry = new Registry();
  readonly restarts: Counter;
  readonly attemptsWithoutCheckpoint: Gauge;
  readonly backoff: Gauge;
  readonly timeToFirstCheckpoint: Gauge;

  constructor() {
    const registers = [this.registry];
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
