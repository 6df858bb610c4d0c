// TEST-ONLY: the operator as its own OS process (`node operator/src/main.ts`, what `npm run
// operator` and the image run), scoped to one namespace, for tests that kill it for real. It
// reaches the cluster through the test's KUBECONFIG, serves its probes on a free loopback port,
// runs without leader election (one operator at a time: a SIGKILLed leader would hold its
// Lease until it expires) and writes its log to a file. With `killAfter` it is started with
// TRIBUTARY_FAULT_KILL_AFTER_WRITE (fault-kill.ts) and SIGKILLs itself after that status write.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, OperatorError } from '../../../kube/index.ts';
import { waitFor } from '../../../kube/testing/cluster.ts';
import { FAULT_KILL_ENV, type KillNotice } from '../fault-kill.ts';
import type { StatusWrite } from '../status-writes.ts';

const MAIN = fileURLToPath(new URL('../../../main.ts', import.meta.url));

export interface OperatorProcess {
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the probe server's URL once /readyz answers 200 (informer caches synced). */
  readonly ready: Promise<string>;
  /** Resolves when the process has exited: its exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The fault-injection notice it wrote before killing itself, if it did. */
  killNotice(): KillNotice | undefined;
  /** The last `lines` lines of its log. */
  tail(lines?: number): string;
  /** SIGTERM (graceful: in-flight reconciles drain) and wait for the exit. */
  stop(): Promise<void>;
}

export function startOperatorProcess(o: {
  namespace: string;
  defaultImage: string;
  logFile: string;
  killAfter?: { job: string; write: StatusWrite; generation?: number };
  /** Set over the test's environment (e.g. KUBECONFIG: the operator under an identity of its own). */
  env?: NodeJS.ProcessEnv;
  /** More flags (e.g. --kube-request-timeout=3s). */
  args?: readonly string[];
}): OperatorProcess {
  const fd = openSync(o.logFile, 'a');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TRIBUTARY_LOG_LEVEL: process.env.SJ_LOG ? 'debug' : 'info',
    ...o.env,
  };
  // Run from a checkout, not as a pod: no in-cluster config, no leader election default.
  delete env.KUBERNETES_SERVICE_HOST;
  const k = o.killAfter;
  if (k)
    env[FAULT_KILL_ENV] = `${o.namespace}/${k.job}:${k.write}${k.generation !== undefined ? `@${k.generation}` : ''}`;
  else delete env[FAULT_KILL_ENV];
  const child = spawn(
    process.execPath,
    [
      MAIN,
      `--namespaces=${o.namespace}`,
      '--metrics-addr=127.0.0.1:0',
      '--leader-elect=false',
      '--no-druid',
      `--default-image=${o.defaultImage}`,
      ...(o.args ?? []),
    ],
    { env, stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  // A test process that ends (a timeout, a crash) takes its operator with it.
  const orphanGuard = () => child.kill('SIGKILL');
  process.once('exit', orphanGuard);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      process.off('exit', orphanGuard);
      resolve({ code, signal });
    }),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const log = () => {
    try {
      return readFileSync(o.logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const lines = () => log().split('\n').filter(Boolean);
  const tail = (n = 30) => lines().slice(-n).join('\n');
  // Polls stop once the process is gone (the race below has settled by then).
  const probing = (async () => {
    const url = await waitFor(
      `operator process ${child.pid} serving its probes`,
      () =>
        gone
          ? ''
          : lines()
              .map((l) => /"probes":"(http:\/\/[^"]+)"/.exec(l)?.[1])
              .find(Boolean),
      30_000,
      50,
    );
    await waitFor(
      `operator process ${child.pid} ready`,
      async () => gone || (await fetch(`${url}/readyz`).catch(() => undefined))?.ok,
      30_000,
      50,
    );
    return url;
  })();
  const ready = Promise.race([
    probing,
    exited.then((e): never => {
      throw new OperatorError(
        ErrorCodes.TEST_HARNESS,
        `the operator process exited (${e.signal ?? `code ${e.code}`}) before it was ready:\n${tail()}`,
      );
    }),
  ]);
  probing.catch(() => undefined);
  ready.catch(() => undefined); // a caller that only waits for the kill need not await it
  return {
    pid: child.pid!,
    logFile: o.logFile,
    ready,
    exited,
    tail,
    killNotice() {
      for (const l of lines()) {
        if (!l.includes('fault injection: SIGKILL')) continue;
        try {
          return JSON.parse(l) as KillNotice;
        } catch {
          return undefined;
        }
      }
      return undefined;
    },
    async stop() {
      if (!gone) child.kill('SIGTERM');
      await exited;
    },
  };
}
