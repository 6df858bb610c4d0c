// Readiness, liveness and startup probes (httpGet, tcpSocket, exec). A ProbeWorker runs one
// probe on its period and reports only transitions of its result, after successThreshold
// consecutive successes or failureThreshold consecutive failures, as the kubelet does.
// Initial results: readiness = failure (not ready until proven), liveness = success,
// startup = failure. httpGet defaults to the pod IP; any 200-399 status is a success and
// redirects are not followed; HTTPS certificates are not verified (kubelet behaviour).
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { Agent, request } from 'undici';
import type { Container, Probe } from './kube-types.ts';
import { killGroup } from './container-process.ts';
import { NodeAgentError } from './errors.ts';

export type ProbeKind = 'readiness' | 'liveness' | 'startup';

export interface ProbeTarget {
  podIP: string;
  container: Container;
  env: Record<string, string>;
  cwd: string;
}

export interface ProbeResult {
  ok: boolean;
  message: string;
}

const insecure = new Agent({ connect: { rejectUnauthorized: false } });

export function resolvePort(port: number | string | undefined, container: Container): number {
  if (typeof port === 'number') return port;
  if (port === undefined) throw new NodeAgentError('NODE_AGENT_PROBE', 'probe has no port');
  if (/^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw new NodeAgentError('NODE_AGENT_PROBE', `container ${container.name} has no port named ${port}`);
  return named.containerPort;
}

async function httpProbe(
  probe: NonNullable<Probe['httpGet']>,
  target: ProbeTarget,
  timeoutMs: number,
): Promise<ProbeResult> {
  const port = resolvePort(probe.port, target.container);
  const host = probe.host || target.podIP;
  const scheme = (probe.scheme ?? 'HTTP').toLowerCase();
  const path = probe.path ? (probe.path.startsWith('/') ? probe.path : `/${probe.path}`) : '/';
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
  const headers: Record<string, string> = { 'user-agent': 'kube-probe/tributary', accept: '*/*' };
  for (const h of probe.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
  const res = await request(url, {
    method: 'GET',
    headers,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
    ...(scheme === 'https' ? { dispatcher: insecure } : {}),
  });
  await res.body.dump({ limit: 10240 }).catch(() => undefined);
  const ok = res.statusCode >= 200 && res.statusCode < 400;
  return { ok, message: ok ? `HTTP ${res.statusCode}` : `HTTP probe failed with statuscode: ${res.statusCode}` };
}

function tcpProbe(
  probe: NonNullable<Probe['tcpSocket']>,
  target: ProbeTarget,
  timeoutMs: number,
): Promise<ProbeResult> {
  const port = resolvePort(probe.port, target.container);
  const host = probe.host || target.podIP;
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (r: ProbeResult) => {
      socket.destroy();
      resolve(r);
    };
    socket.once('connect', () => done({ ok: true, message: 'connected' }));
    socket.once('timeout', () => done({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` }));
    socket.once('error', (err) => done({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` }));
  });
}

/** Runs an exec probe or hook command with the container's env and cwd. Exit 0 = success. */
export function execCommand(
  command: string[],
  target: Pick<ProbeTarget, 'env' | 'cwd'>,
  timeoutMs: number,
): Promise<ProbeResult> {
  const [file, ...args] = command;
  if (file === undefined) return Promise.resolve({ ok: false, message: 'exec probe has an empty command' });
  return new Promise((resolve) => {
    let output = '';
    let settled = false;
    const child = spawn(file, args, {
      env: target.env,
      cwd: target.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (b: Buffer) => {
      if (output.length < 4096) output += b.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const finish = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      finish({ ok: false, message: `command timed out after ${timeoutMs}ms` });
    }, timeoutMs);
    child.once('error', (err) => finish({ ok: false, message: `exec ${file}: ${err.message}` }));
    child.once('close', (code, signal) => {
      if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
      finish({
        ok: code === 0,
        message: code === 0 ? output.trim() : `command exited with ${code ?? signal}: ${output.trim()}`,
      });
    });
  });
}

export async function runProbe(probe: Probe, target: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = Math.max(1, probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.httpGet) return await httpProbe(probe.httpGet, target, timeoutMs);
    if (probe.tcpSocket) return await tcpProbe(probe.tcpSocket, target, timeoutMs);
    if (probe.exec) return await execCommand(probe.exec.command ?? [], target, timeoutMs);
    return { ok: false, message: 'unsupported probe handler (httpGet, tcpSocket and exec are supported)' };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

export interface ProbeWorkerOptions {
  kind: ProbeKind;
  probe: Probe;
  target: () => ProbeTarget;
  /** Called when the probe's result flips (after the thresholds). */
  onChange: (ok: boolean, message: string) => void;
}

export class ProbeWorker {
  readonly kind: ProbeKind;
  #result: boolean;
  #successes = 0;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #opts: ProbeWorkerOptions;

  constructor(opts: ProbeWorkerOptions) {
    this.kind = opts.kind;
    this.#opts = opts;
    this.#result = opts.kind === 'liveness';
  }

  get result(): boolean {
    return this.#result;
  }

  start(): void {
    const delayMs = (this.#opts.probe.initialDelaySeconds ?? 0) * 1000;
    this.#timer = setTimeout(() => void this.#tick(), delayMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const probe = this.#opts.probe;
    const r = await runProbe(probe, this.#opts.target());
    if (this.#stopped) return;
    const successThreshold = Math.max(1, probe.successThreshold ?? 1);
    const failureThreshold = Math.max(1, probe.failureThreshold ?? 3);
    if (r.ok) {
      this.#successes++;
      this.#failures = 0;
      if (!this.#result && this.#successes >= successThreshold) {
        this.#result = true;
        this.#opts.onChange(true, r.message);
      }
    } else {
      this.#failures++;
      this.#successes = 0;
      if (this.#result && this.#failures >= failureThreshold) {
        this.#result = false;
        this.#opts.onChange(false, r.message);
      } else if (!this.#result && this.#failures >= failureThreshold && this.kind !== 'readiness') {
        // startup probes fail the container after failureThreshold even though they never
        // succeeded; report once per threshold crossing.
        this.#failures = 0;
        this.#opts.onChange(false, r.message);
      }
    }
    // Once started, a startup probe is done.
    if (this.kind === 'startup' && this.#result) return;
    const periodMs = Math.max(1, probe.periodSeconds ?? 10) * 1000;
    this.#timer = setTimeout(() => void this.#tick(), periodMs);
  }
}
