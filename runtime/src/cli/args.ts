// Argument parsing for `tributary`. No dependency: the surface is small and fixed.
import { TributaryError } from '../errors.ts';
import { parseDuration } from '../graph/duration.ts';
import type { StateBackendKind } from '../state/state-backend-options.ts';

/** Where `--ui` without an address serves the dashboard. */
export const DEFAULT_UI_ADDRESS = '127.0.0.1:8081';

export interface RunArgs {
  command: 'run' | 'validate' | 'help';
  file?: string;
  parallelism?: number;
  maxParallelism?: number;
  durationMs?: number;
  sets: string[];
  metricsPort?: number;
  logLevel?: string;
  drain: boolean;
  explain: boolean;
  progress?: boolean;
  /** One OS process per slot, supervised (restarts on failure). */
  distributed: boolean;
  /** One worker_thread per slot in this process, supervised like --distributed (the default for parallelism > 1). */
  threads: boolean;
  /** Every slot on this process's one event loop. */
  singleThread: boolean;
  maxRestarts?: number;
  stateDir?: string;
  /** Periodic checkpoints (ms); needs a state dir. */
  checkpointIntervalMs?: number;
  /** Consecutive failed checkpoints tolerated before the job fails. */
  tolerableFailedCheckpoints?: number;
  /** Without checkpoints: Kafka sources commit their positions this often behind the sinks (ms; 0 = off). */
  offsetCommitIntervalMs?: number;
  /** Checkpoint or savepoint directory to start from. */
  restore?: string;
  allowNonRestoredState: boolean;
  /** Control API on 127.0.0.1 (slot 0): status, savepoints. */
  controlPort?: number;
  /** The dashboard's address (`--ui [host:port]`); absent = no dashboard. */
  ui?: string;
  /** Where keyed state lives (`--state-backend`); absent = spec.stateBackend.type, else heap. */
  stateBackend?: StateBackendKind;
  /** The disk backend's directory (`--local-state-dir`); absent = a fresh one under the OS temp dir. */
  localStateDir?: string;
}

export const USAGE = `usage:
  tributary run <job.yaml> [options]     run a StreamJob manifest or a bare graph locally
  tributary validate <job.yaml> [--set path=value]...
  tributary schema-types --registry URL (--subject S | --id N)   TypeScript types of a registry schema's records
  tributary rescale --control-port P --to N   move a running run (threads, processes, one thread) to N slots live
  tributary state gc <stateDir> [--retained N]   remove what retention would from a stopped job's checkpoints
                         (file by file: files newer checkpoints share stay; --retained ≥ 1, default 3)

options (run):
  --parallelism N        slots (default: spec.replicas, else 1); above 1, a worker thread each (see --threads)
  --max-parallelism N    key groups (default: spec.maxParallelism, else Flink's default)
  --duration 30s         stop after this long (default: until the sources end or Ctrl-C)
  --set path=value       override a field before validation, e.g. --set graph.sources[0].datagen.rate=500
  --drain                on stop, fire all pending event-time windows before exiting (every slot; then the
                         final checkpoint, when the run checkpoints)
  --metrics-port P       serve /metrics on 127.0.0.1:P (0 = any free port; default off)
  --log-level L          pino level (default info; env TRIBUTARY_LOG_LEVEL)
  --explain              print the physical plan (tasks and exchanges) before running
  --no-progress          no live progress line on a TTY
  --threads              (default when parallelism > 1) each slot on a worker_thread of this process, one core
                         per slot, linked by the TCP data plane on loopback; checkpoints always on, and a slot
                         that fails restarts all slots from the latest checkpoint
  --single-thread        every slot on this process's one event loop (checkpoints only when asked)
  --distributed          as --threads, but one process per slot
  --max-restarts N       with threads or --distributed: failed attempts restarted before giving up (default 3)
  --state-dir DIR|URI    checkpoints and savepoints: a folder or s3://bucket/prefix (S3 settings: TRIBUTARY_S3_*)
                         (default .tributary/state/<job> when checkpointing)
  --checkpoint-interval 10s  periodic aligned checkpoints into --state-dir (default: spec.checkpointing.interval;
                         threads and --distributed: that, else 10s). Exactly-once sinks need checkpoints: a sink with
                         delivery: exactly-once is refused without them
  --tolerable-failed-checkpoints N  consecutive failed checkpoints the job runs on through (default:
                         spec.checkpointing.tolerableFailedCheckpoints, else 10); one more fails it with TRIB_CHECKPOINT_FAILED
  --offset-commit-interval 5s  without checkpoints: how often Kafka sources commit their offsets, each time
                         behind a commit barrier every sink acknowledged (default 5s; 0 = only at a clean end)
  --state-backend heap|disk  where slots keep keyed state between checkpoints: the heap, or a local lmdb store per
                         stateful step with a bounded in-memory cache (default: spec.stateBackend.type, else heap)
  --local-state-dir DIR  with the disk backend: the directory the stores go under, kept after the run (default: a
                         fresh directory under the OS temp dir, removed when the run ends)
  --restore PATH         start from this checkpoint or savepoint directory (any parallelism ≤ maxParallelism)
  --allow-non-restored-state  drop state of steps the graph no longer has instead of refusing to start
  --control-port P       control API (status, POST /v1/savepoints, POST /v1/migrations) on 127.0.0.1:P (0 = any free port; with
                         threads or --distributed: slot 0's, the coordinator's);
                         every call needs Authorization: Bearer <token>, the token in TRIBUTARY_CONTROL_TOKEN_FILE
                         or else a generated one in a 0600 file whose path is logged
  --ui [host:port]       serve the dashboard of this run (default 127.0.0.1:8081; 0 as port = any free port)
                         and print its URL: the graph with each step's rates, charts, checkpoints, exceptions`;

function int(flag: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min)
    throw new TributaryError('TRIB_CLI_USAGE', `${flag}: expected an integer ≥ ${min}, got ${JSON.stringify(v ?? '')}`);
  return n;
}

function duration(flag: string, v: string | undefined, like: string, allowZero = false): number {
  const ms = parseDuration(v);
  if (ms === undefined || (allowZero ? ms < 0 : ms <= 0))
    throw new TributaryError(
      'TRIB_CLI_USAGE',
      `${flag}: expected a duration like ${like}, got ${JSON.stringify(v ?? '')}`,
    );
  return ms;
}

/** An option's value: the `--flag=value` form's, else the next argument (taken by `value()`). */
interface OptionValue {
  value: () => string | undefined;
  inline: string | undefined;
  rest: string[];
}

/** Every option by flag: what it sets. */
const OPTIONS: Readonly<Record<string, (args: RunArgs, v: OptionValue) => void>> = {
  '--parallelism': (args, { value }) => {
    args.parallelism = int('--parallelism', value(), 1);
  },
  '-p': (args, { value }) => {
    args.parallelism = int('--parallelism', value(), 1);
  },
  '--max-parallelism': (args, { value }) => {
    args.maxParallelism = int('--max-parallelism', value(), 1);
  },
  '--duration': (args, { value }) => {
    args.durationMs = duration('--duration', value(), '"30s"');
  },
  '--set': (args, { value }) => {
    const v = value();
    if (!v || !v.includes('='))
      throw new TributaryError('TRIB_CLI_USAGE', `--set: expected path=value, got ${JSON.stringify(v ?? '')}`);
    args.sets.push(v);
  },
  '--metrics-port': (args, { value }) => {
    args.metricsPort = int('--metrics-port', value(), 0);
  },
  '--log-level': (args, { value }) => {
    args.logLevel = value();
  },
  '--drain': (args) => {
    args.drain = true;
  },
  '--explain': (args) => {
    args.explain = true;
  },
  '--distributed': (args) => {
    args.distributed = true;
  },
  '--threads': (args) => {
    args.threads = true;
  },
  '--single-thread': (args) => {
    args.singleThread = true;
  },
  '--max-restarts': (args, { value }) => {
    args.maxRestarts = int('--max-restarts', value(), 0);
  },
  '--state-dir': (args, { value }) => {
    args.stateDir = value();
  },
  '--checkpoint-interval': (args, { value }) => {
    args.checkpointIntervalMs = duration('--checkpoint-interval', value(), '"10s"');
  },
  '--offset-commit-interval': (args, { value }) => {
    args.offsetCommitIntervalMs = duration('--offset-commit-interval', value(), '"5s" (0 = off)', true);
  },
  '--tolerable-failed-checkpoints': (args, { value }) => {
    args.tolerableFailedCheckpoints = int('--tolerable-failed-checkpoints', value(), 0);
  },
  '--state-backend': (args, { value }) => {
    const v = value();
    if (v !== 'heap' && v !== 'disk')
      throw new TributaryError(
        'TRIB_CLI_USAGE',
        `--state-backend: expected heap or disk, got ${JSON.stringify(v ?? '')}`,
      );
    args.stateBackend = v;
  },
  '--local-state-dir': (args, { value }) => {
    args.localStateDir = value();
    if (!args.localStateDir) throw new TributaryError('TRIB_CLI_USAGE', '--local-state-dir: expected a directory');
  },
  '--restore': (args, { value }) => {
    args.restore = value();
    if (!args.restore)
      throw new TributaryError('TRIB_CLI_USAGE', '--restore: expected a checkpoint or savepoint directory');
  },
  '--allow-non-restored-state': (args) => {
    args.allowNonRestoredState = true;
  },
  '--control-port': (args, { value }) => {
    args.controlPort = int('--control-port', value(), 0);
  },
  '--ui': (args, { inline, rest }) => {
    // The address is optional: a next argument that is not one (the job file, an option) stays.
    const next = inline ?? rest[0];
    const isAddress = next !== undefined && /^(\[[^\]]+\]|[\w.-]*)?:?\d{1,5}$/.test(next);
    args.ui = isAddress ? (inline ?? (rest.shift() as string)) : DEFAULT_UI_ADDRESS;
    if (inline !== undefined && !isAddress)
      throw new TributaryError('TRIB_CLI_USAGE', `--ui: expected host:port, got ${JSON.stringify(inline)}`);
  },
  '--no-progress': (args) => {
    args.progress = false;
  },
};

export function parseArgs(argv: readonly string[]): RunArgs {
  const args: RunArgs = {
    command: 'help',
    sets: [],
    drain: false,
    explain: false,
    distributed: false,
    threads: false,
    singleThread: false,
    allowNonRestoredState: false,
  };
  const rest = [...argv];
  const cmd = rest.shift();
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') return args;
  if (cmd !== 'run' && cmd !== 'validate')
    throw new TributaryError('TRIB_CLI_USAGE', `unknown command "${cmd}"\n${USAGE}`);
  args.command = cmd;
  while (rest.length > 0) {
    const a = rest.shift() as string;
    const [flag, inline] =
      a.startsWith('--') && a.includes('=') && !a.startsWith('--set=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    const option = Object.hasOwn(OPTIONS, flag) ? OPTIONS[flag] : undefined;
    if (option) option(args, { value: () => inline ?? rest.shift(), inline, rest });
    else positional(args, a);
  }
  const modes = [
    args.distributed && '--distributed',
    args.threads && '--threads',
    args.singleThread && '--single-thread',
  ];
  const chosen = modes.filter((m) => m !== false);
  if (chosen.length > 1)
    throw new TributaryError(
      'TRIB_CLI_USAGE',
      `${chosen.join(' and ')}: choose one (a process per slot, a thread per slot, or every slot on one thread)`,
    );
  if (!args.file) throw new TributaryError('TRIB_CLI_USAGE', `missing <job.yaml>\n${USAGE}`);
  return args;
}

/** An argument that is no option: `--set=path=value`, else the job file (one only). */
function positional(args: RunArgs, a: string): void {
  if (a.startsWith('--set=')) {
    args.sets.push(a.slice('--set='.length));
    return;
  }
  if (a.startsWith('-')) throw new TributaryError('TRIB_CLI_USAGE', `unknown option ${a}\n${USAGE}`);
  if (args.file !== undefined)
    throw new TributaryError('TRIB_CLI_USAGE', `unexpected argument ${a}; one job file only`);
  args.file = a;
}
