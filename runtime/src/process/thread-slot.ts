// One slot of `tributary run --threads` on a worker_thread of this process: the pod's
// entrypoint (main.ts → slot-main.ts) unchanged, its environment given as the worker's own
// process.env, so a thread slot links, checkpoints, restores and fails exactly like a slot
// process (the data plane's handshake, frames and checkpoint RPC in its CONTROL frames), over a
// MessagePort per peer instead of a loopback TCP connection (net/port-socket.ts).
//
// It looks to the supervisor like a child process (SlotChild): SIGTERM/SIGINT become a `stop`
// message (the slot stops as on a signal: slot/run.ts listens on its parentPort), SIGKILL is
// Worker.terminate(). The thread's exit code is the slot's (slot-main exits with it).
import { Worker, type MessagePort } from 'node:worker_threads';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { TributaryError } from '../errors.ts';
import { heapLimitSource, heapSizeLimitMiB } from '../exec/heap-limit-watch.ts';
import { transferListOf, type ThreadPorts } from '../net/port-socket.ts';

/** What a supervisor needs of a slot it started: a child process, or a ThreadSlot. */
export interface SlotChild {
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  kill(signal: NodeJS.Signals): boolean;
}

/** The message a thread slot stops on (as a slot process does on SIGTERM). */
export const THREAD_STOP_MESSAGE = 'tributary:stop';

/** What a thread slot posts to its supervisor when its job has ended (a process logs it only). */
export interface SlotResultMessage {
  kind: 'tributary:slot-result';
  /** STOPPED: ended by a stop (a signal, a stop-with-savepoint), not by the end of its input. */
  state: 'FINISHED' | 'STOPPED';
  recordsIn: number;
  recordsOut: number;
}

/** What a thread slot is started with besides its environment. */
export interface SlotWorkerData {
  dataPorts?: ThreadPorts;
}

/** The data-plane ports a thread slot was given, if any (none in a slot process). */
export function threadPortsOf(workerData: unknown): ThreadPorts | undefined {
  const ports = (workerData as SlotWorkerData | null | undefined)?.dataPorts;
  return ports instanceof Object && ports.outbound instanceof Map && ports.inbound instanceof Map ? ports : undefined;
}

/**
 * TRIBUTARY_THREAD_DATA_PLANE: `ports` (default) links slot threads over MessagePorts, `tcp` over
 * loopback TCP as slot processes link. Anything else is refused rather than guessed at.
 */
export function threadsOverTcpFromEnv(env: NodeJS.ProcessEnv): boolean {
  const v = env['TRIBUTARY_THREAD_DATA_PLANE'];
  if (v === undefined || v === '' || v === 'ports') return false;
  if (v === 'tcp') return true;
  throw new TributaryError(
    'TRIB_CLI_USAGE',
    `TRIBUTARY_THREAD_DATA_PLANE=${JSON.stringify(v)}: expected "ports" (the default) or "tcp"`,
  );
}

function isSlotResult(m: unknown): m is SlotResultMessage {
  return (m as SlotResultMessage | null)?.kind === 'tributary:slot-result';
}

export class ThreadSlot implements SlotChild {
  private readonly worker: Worker;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  /** The slot's record counts, once its job has ended. */
  result: Omit<SlotResultMessage, 'kind'> | undefined;
  private terminating = false;
  /** What ended the thread when its exit code cannot say (Node ended it at its heap limit). */
  private reason: string | undefined;
  private readonly listeners: ((m: unknown) => void)[] = [];

  constructor(
    entry: string | URL,
    env: Record<string, string>,
    opts: {
      pipe: boolean;
      logger: Logger;
      slot: number;
      /** `reason`: what ended the thread when its exit code cannot say (it ran out of heap). */
      onExit: (code: number | null, signal: NodeJS.Signals | null, reason?: string) => void;
      /** Appended to the worker's process.argv ([node, entry, ...argv]). */
      argv?: readonly string[];
      /** The slot's data-plane ports to its peer threads (moved into the worker). */
      dataPorts?: ThreadPorts;
    },
  ) {
    const ports = opts.dataPorts;
    this.worker = new Worker(entry, {
      env,
      stdout: opts.pipe,
      stderr: opts.pipe,
      argv: [...(opts.argv ?? [])],
      ...(ports
        ? {
            workerData: { dataPorts: ports } satisfies SlotWorkerData,
            transferList: transferListOf(ports),
          }
        : {}),
    });
    // An uncaught exception ends the thread with code 1 ('exit' follows): the slot failed.
    this.worker.on('message', (m: unknown) => {
      if (isSlotResult(m)) this.result = { state: m.state, recordsIn: m.recordsIn, recordsOut: m.recordsOut };
      else for (const fn of this.listeners) fn(m);
    });
    this.worker.on('error', (err) => {
      // Node ends a worker at its heap limit before the slot's own watch (exec/heap-limit-watch.ts)
      // can: say so in the job's terms, naming the limit.
      if ((err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
        const e = new TributaryError(
          'TRIB_STATE_MEMORY_LIMIT',
          `slot ${opts.slot}: its thread reached its heap limit of ${heapSizeLimitMiB()} MiB (old and young generation; ${heapLimitSource()}) and was ended: the job needs more memory than the slot has. Raise --max-old-space-size (NODE_OPTIONS), spread the keys over more slots (parallelism), keep keyed state on disk (--state-backend disk), or bound the state (ttl, windows)`,
          { cause: err },
        );
        opts.logger.error({ code: e.code, err: e.message, slot: opts.slot }, 'slot thread out of heap');
        this.reason = `${e.code}: ${e.message}`;
      } else opts.logger.error({ err, slot: opts.slot }, 'slot thread failed');
    });
    this.worker.on('exit', (code) => {
      if (this.terminating) this.signalCode = 'SIGKILL';
      else this.exitCode = code;
      opts.onExit(this.exitCode, this.signalCode, this.reason);
    });
  }

  /** The worker's thread id (a slot process's pid in logs and handles). */
  get threadId(): number {
    return this.worker.threadId;
  }

  get stdout(): Readable | null {
    return this.worker.stdout;
  }

  get stderr(): Readable | null {
    return this.worker.stderr;
  }

  /** A message to the slot thread, moving `transfer` (dropped once the thread has exited). */
  post(m: unknown, transfer: MessagePort[] = []): void {
    if (this.exitCode === null && this.signalCode === null) this.worker.postMessage(m, transfer);
  }

  /** Messages the slot thread posts (other than its result). */
  onMessage(fn: (m: unknown) => void): void {
    this.listeners.push(fn);
  }

  kill(signal: NodeJS.Signals): boolean {
    if (this.exitCode !== null || this.signalCode !== null) return false;
    if (signal === 'SIGKILL') {
      this.terminating = true;
      void this.worker.terminate();
    } else this.worker.postMessage(THREAD_STOP_MESSAGE);
    return true;
  }
}
