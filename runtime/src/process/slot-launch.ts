// Starting one slot of a local run's attempt (supervisor.ts): its environment — the variables a
// pod gets, with loopback addresses and the attempt's ports instead of peer discovery — and its
// host: a child process in its own process group, or a worker_thread of this process
// (thread-slot.ts); the same slot code (runtime/src/main.ts) either way. A slot process watches
// its parent (TRIBUTARY_PARENT_PID) and exits when the supervisor dies; a thread cannot outlive it.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { RuntimeEnv } from '../control/contract.ts';
import type { ThreadPorts } from '../net/port-socket.ts';
import { LocalEnv } from './slot-env.ts';
import { SLOT_NODE_FLAGS } from './slot-node-flags.ts';
import { ThreadSlot, type SlotChild } from './thread-slot.ts';
import type { FromHost } from './slot-host.ts';
import type { MessagePort } from 'node:worker_threads';

// The slot entrypoint beside this module: runtime/src/main.ts in the repository, main.js in the
// package's compiled dist/ (a file under node_modules cannot be type-stripped).
const SLOT_ENTRY = fileURLToPath(new URL(`../main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
// Slot processes run on the repository's Node 24 (npm ci installs it) when there is one, else on
// the Node running this supervisor (an installed package).
const REPO_NODE = resolve(import.meta.dirname, '../../../node_modules/.bin/node');
const SLOT_NODE = existsSync(REPO_NODE) ? REPO_NODE : process.execPath;

export interface SlotHandle {
  slot: number;
  /** The slot process's pid; a thread slot's thread id. */
  pid: number;
  dataAddress: string;
  controlAddress: string;
  /** Token-free /metrics of the slot. */
  metricsAddress: string;
  /** Bearer token of the slot's control API (the run's job secret). */
  controlToken: string;
  child: SlotChild;
  /** Messages to the slot (slot-host.ts): a thread's port, a process's IPC channel. Ports move with a thread's only. */
  send(m: FromHost, transfer?: MessagePort[]): void;
  /** Messages from the slot. */
  onMessage(fn: (m: unknown) => void): void;
}

/** How every slot of a run is hosted (part of the supervisor's options). */
export interface SlotHostOptions {
  /** 'process' (default): one OS process per slot; 'thread': one worker_thread per slot. */
  host?: 'process' | 'thread';
  logger: Logger;
  /** Extra env for every slot (log level, …). */
  env?: Record<string, string>;
  /**
   * Arguments after the slot entrypoint, so a slot's process.argv.slice(2) is this: a job module
   * run by `execute({ threads })` reads the arguments its program was started with.
   */
  argv?: readonly string[];
  /** 'inherit' (default: sink output and logs on the terminal) or 'pipe' (tests read child.stdout/stderr). */
  stdio?: 'inherit' | 'pipe';
  /** Node flags of the slot processes (default SLOT_NODE_FLAGS; a bench measures without them). */
  nodeFlags?: readonly string[];
}

/** One slot of one attempt. */
export interface SlotLaunch {
  slot: number;
  parallelism: number;
  maxParallelism: number;
  jobName: string;
  deploymentId: string;
  /** The attempt's JobConfig file. */
  jobConfigFile: string;
  /** Every slot's data address, by slot. */
  peers: readonly string[];
  ports: { data: number; control: number; metrics: number };
  /** The run's job secret and its 0600 file (the slots' control API and handshake require it). */
  secret: { token: string; file: string };
  /** A thread slot's MessagePorts to the others; without them thread slots link over loopback TCP. */
  dataPorts?: ThreadPorts;
  /** Started to join the running attempt (a live rescale): the rescale's membership generation. */
  joinGeneration?: number;
  /** `reason`: what ended a slot thread when its exit code cannot say (thread-slot.ts). */
  onExit: (code: number | null, signal: NodeJS.Signals | null, reason?: string) => void;
}

export function launchSlot(o: SlotHostOptions, l: SlotLaunch): SlotHandle {
  const s = l.slot;
  const threads = o.host === 'thread';
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    ...o.env,
    [RuntimeEnv.slot]: String(s),
    [RuntimeEnv.parallelism]: String(l.parallelism),
    [RuntimeEnv.maxParallelism]: String(l.maxParallelism),
    [RuntimeEnv.jobConfigFile]: l.jobConfigFile,
    [RuntimeEnv.deploymentId]: l.deploymentId,
    [RuntimeEnv.jobName]: l.jobName,
    [RuntimeEnv.podIp]: '127.0.0.1',
    [LocalEnv.peers]: l.peers.join(','),
    [LocalEnv.dataPort]: String(l.ports.data),
    [LocalEnv.controlPort]: String(l.ports.control),
    [LocalEnv.metricsPort]: String(l.ports.metrics),
    [RuntimeEnv.controlTokenFile]: l.secret.file,
    ...(l.joinGeneration !== undefined ? { [RuntimeEnv.join]: String(l.joinGeneration) } : {}),
  };
  // A process watches its parent; a thread cannot outlive it (and process.ppid is not us).
  if (!threads) env['TRIBUTARY_PARENT_PID'] = String(process.pid);
  delete env[LocalEnv.podRoot];
  delete env[RuntimeEnv.peerSelector];
  let child: SlotChild;
  let pid: number;
  let send: SlotHandle['send'];
  let onMessage: SlotHandle['onMessage'];
  if (threads) {
    const t = new ThreadSlot(SLOT_ENTRY, env, {
      pipe: o.stdio === 'pipe',
      logger: o.logger,
      slot: s,
      onExit: l.onExit,
      argv: o.argv ?? [],
      ...(l.dataPorts ? { dataPorts: l.dataPorts } : {}),
    });
    child = t;
    pid = t.threadId;
    send = (m, transfer) => t.post(m, transfer);
    onMessage = (fn) => t.onMessage(fn);
  } else {
    const c = spawn(SLOT_NODE, [...(o.nodeFlags ?? SLOT_NODE_FLAGS), SLOT_ENTRY, ...(o.argv ?? [])], {
      cwd: process.cwd(),
      env,
      // The IPC channel carries the host messages (slot-host.ts); the slot unrefs it.
      stdio: ['ignore', o.stdio ?? 'inherit', o.stdio ?? 'inherit', 'ipc'],
      // Its own process group: a terminal's Ctrl-C reaches the supervisor only, which stops the
      // slots with one SIGTERM (a slot takes a second signal as "exit now", cutting --drain and
      // the final checkpoint). The slot still exits when the supervisor dies (it watches the pid).
      detached: true,
    });
    c.on('exit', l.onExit);
    child = c;
    pid = c.pid ?? -1;
    // A message to a slot that has exited is dropped: its exit is what the supervisor acts on.
    send = (m) => {
      if (c.connected) c.send(m, (e) => void e);
    };
    onMessage = (fn) => c.on('message', fn);
  }
  return {
    slot: s,
    pid,
    dataAddress: l.dataPorts ? `thread:${s}` : (l.peers[s] as string),
    controlAddress: `127.0.0.1:${l.ports.control}`,
    metricsAddress: `127.0.0.1:${l.ports.metrics}`,
    controlToken: l.secret.token,
    child,
    send,
    onMessage,
  };
}
