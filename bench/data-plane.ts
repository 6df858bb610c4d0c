// Data-plane throughput between two local slot processes: this process (slot 0) pushes small
// keyed records through an OutboundChannel (frames + credits) to a child process (slot 1) that
// polls them from its InboundChannel. Records/s per core = records / (CPU seconds of both
// processes). Peers measured in the same run:
//   * raw TCP: the same records as newline-delimited JSON batches over a bare socket, parsed on
//     the other side (serialization + kernel, no framing, no credits, no flow control);
//   * in-memory channel: LocalChannel send/poll in one process (no serialization at all).
// And two slot threads of one process (what `tributary run -p 2` runs), the receiver a Worker,
// linked over loopback TCP and over MessagePorts (net/port-socket.ts): CPU is the process's.
import { spawn } from 'node:child_process';
import { createServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Worker, parentPort, workerData } from 'node:worker_threads';
import type { ChannelElement } from '../runtime/src/core/channel.ts';
import { LocalChannel } from '../runtime/src/exec/channel.ts';
import { DataPlane } from '../runtime/src/net/data-plane.ts';
import { threadPortMesh, transferListOf, type ThreadPorts } from '../runtime/src/net/port-socket.ts';
import type { Batch } from '../runtime/src/core/batch.ts';
import { silentLogger } from '../runtime/src/telemetry/logger.ts';

export interface NetMeasurement {
  name: string;
  records: number;
  wallMs: number;
  cpuMs: number;
  perCore: number;
}

const BATCH = 1024;
const root = join(import.meta.dirname, '..');

function makeBatches(): Batch[] {
  // A small pool of distinct batches (records like {user, n, ts} after a keyBy).
  const out: Batch[] = [];
  for (let b = 0; b < 8; b++) {
    const recs = Array.from({ length: BATCH }, (_, i) => ({
      user: `user-${(b * BATCH + i) % 5000}`,
      n: i,
      ts: 1_700_000_000_000 + i,
    }));
    out.push({
      recs,
      ts: recs.map((r) => r.ts),
      keys: recs.map((r) => `["${r.user}"]`),
      kgs: recs.map((_, i) => i % 128),
      n: BATCH,
    });
  }
  return out;
}

/** A measurement: `cpuMs` of every process or thread that took part. */
function measured(name: string, records: number, wallMs: number, cpuMs: number): NetMeasurement {
  return { name, records, wallMs, cpuMs, perCore: records / (cpuMs / 1000) };
}

function cpuMs(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1000;
}

interface ChildReport {
  records: number;
  cpuMs: number;
}

function startChild(mode: 'tributary' | 'raw', arg: string): { ready: Promise<string>; done: Promise<ChildReport> } {
  const child = spawn(
    join(root, 'node_modules/.bin/node'),
    [join(root, 'bench/data-plane.ts'), 'receiver', mode, arg],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let buf = '';
  let resolveReady: (s: string) => void = () => {};
  const ready = new Promise<string>((r) => (resolveReady = r));
  const done = new Promise<ChildReport>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const msg = JSON.parse(line) as { port?: number; records?: number; cpuMs?: number };
        if (msg.port !== undefined) resolveReady(`127.0.0.1:${msg.port}`);
        if (msg.records !== undefined) resolve(msg as ChildReport);
      }
    });
    child.on('exit', (code) => code !== 0 && reject(new Error(`bench receiver exited with ${String(code)}`)));
  });
  return { ready, done };
}

function dataPlane(slot: number): DataPlane {
  return new DataPlane({
    identity: { deploymentId: 'bench', jobHash: 'bench', slot, parallelism: 2 },
    secret: 'bench-secret',
    host: '127.0.0.1',
    port: 0,
    channels: 1,
    logger: silentLogger(),
  });
}

/** Slot 0 → slot 1 over the TCP data plane. */
export async function runDataPlane(records: number): Promise<NetMeasurement> {
  const dp = dataPlane(0);
  const port = await dp.listen();
  const child = startChild('tributary', `127.0.0.1:${port}`);
  const childAddr = await child.ready;
  await dp.connect(async () => [childAddr], { self: `127.0.0.1:${port}`, timeoutMs: 10_000, retryMs: 20 });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await sendAll(dp, records);
  const report = await child.done;
  const wallMs = performance.now() - t0;
  const cpu = cpuMs(process.cpuUsage(c0)) + report.cpuMs;
  await dp.close();
  return measured('tributary TCP data plane', report.records, wallMs, cpu);
}

/**
 * Slot thread 0 → slot thread 1 of this process, over loopback TCP or over MessagePorts. The
 * process's CPU counts both threads (and nothing else runs in it meanwhile).
 */
export async function runThreadPair(records: number, transport: 'tcp' | 'ports'): Promise<NetMeasurement> {
  const dp = dataPlane(0);
  const mesh = transport === 'ports' ? threadPortMesh(2) : undefined;
  const port = mesh ? 0 : await dp.listen();
  const ports = mesh?.[1];
  const worker = new Worker(join(root, 'bench/data-plane.ts'), {
    argv: ['receiver', transport === 'ports' ? 'ports' : 'tributary', `127.0.0.1:${port}`],
    ...(ports ? { workerData: ports, transferList: transferListOf(ports) } : {}),
  });
  const done = new Promise<ChildReport>((resolve, reject) => {
    worker.on('message', (m: { port?: number; records?: number; cpuMs?: number }) => {
      if (m.port !== undefined)
        dp.connect(async () => [`127.0.0.1:${m.port}`], {
          self: `127.0.0.1:${port}`,
          timeoutMs: 10_000,
          retryMs: 20,
        }).catch(reject);
      if (m.records !== undefined) resolve(m as ChildReport);
    });
    worker.on('error', reject);
  });
  if (mesh) await dp.connectPorts(mesh[0] as ThreadPorts, 10_000);
  while (!dp.connected) await new Promise((r) => setTimeout(r, 5));
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await sendAll(dp, records);
  const report = await done;
  const wallMs = performance.now() - t0;
  const cpu = cpuMs(process.cpuUsage(c0));
  await dp.close();
  await worker.terminate();
  return measured(
    `two threads, ${transport === 'ports' ? 'MessagePorts' : 'loopback TCP'}`,
    report.records,
    wallMs,
    cpu,
  );
}

/** Sends `records` in batches to slot 1's channel 0, then its end, and waits until every byte left. */
async function sendAll(dp: DataPlane, records: number): Promise<void> {
  const batches = makeBatches();
  const out = dp.outboundChannel(1, 0);
  let wake: () => void = () => {};
  out.setWake(() => wake());
  let sent = 0;
  let b = 0;
  while (sent < records) {
    if (!out.writable) {
      await new Promise<void>((r) => (wake = r));
      continue;
    }
    out.send({ kind: 'batch', batch: batches[b++ % batches.length] as Batch });
    sent += BATCH;
    if ((b & 31) === 0) await new Promise((r) => setImmediate(r)); // let sockets and flushes run, as a slot loop does
  }
  out.send({ kind: 'end' });
  await dp.drain();
}

/** The same records as newline-delimited JSON over a bare socket (the peer). */
export async function runRawTcp(records: number): Promise<NetMeasurement> {
  const batches = makeBatches();
  const child = startChild('raw', '0');
  const addr = await child.ready;
  const [host, port] = addr.split(':') as [string, string];
  const sock: Socket = await new Promise((r) => {
    const s = connect({ host, port: Number(port), noDelay: true }, () => r(s));
  });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let sent = 0;
  let b = 0;
  while (sent < records) {
    const batch = batches[b++ % batches.length] as Batch;
    const ok = sock.write(`${JSON.stringify({ ts: batch.ts, kgs: batch.kgs, keys: batch.keys, recs: batch.recs })}\n`);
    sent += BATCH;
    if (!ok) await new Promise((r) => sock.once('drain', r));
  }
  await new Promise<void>((r) => sock.end(r));
  const report = await child.done;
  const wallMs = performance.now() - t0;
  const cpu = cpuMs(process.cpuUsage(c0)) + report.cpuMs;
  return measured('peer: raw TCP + JSON lines', report.records, wallMs, cpu);
}

/** LocalChannel in one process: the in-memory exchange a same-process slot pair uses. */
export function runInMemory(records: number): NetMeasurement {
  const batches = makeBatches();
  const ch = new LocalChannel(16);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let sent = 0;
  let got = 0;
  let b = 0;
  while (sent < records || got < sent) {
    while (ch.writable && sent < records) {
      const src = batches[b++ % batches.length] as Batch;
      // Exchanges copy out of the caller's batch; so does this.
      ch.send({
        kind: 'batch',
        batch: { recs: src.recs.slice(), ts: src.ts.slice(), keys: src.keys.slice(), kgs: src.kgs.slice(), n: src.n },
      });
      sent += BATCH;
    }
    for (let el = ch.poll(); el; el = ch.poll()) if (el.kind === 'batch') got += el.batch.n;
  }
  const wallMs = performance.now() - t0;
  const cpu = cpuMs(process.cpuUsage(c0));
  return measured('peer: in-memory channel', got, wallMs, cpu);
}

async function receiver(mode: string, arg: string): Promise<void> {
  let records = 0;
  const c0 = process.cpuUsage();
  // A receiver thread reports to its parent; a receiver process on stdout.
  const emit = (m: object): void => {
    if (parentPort) parentPort.postMessage(m);
    else process.stdout.write(`${JSON.stringify(m)}\n`);
  };
  const report = (): void => emit({ records, cpuMs: cpuMs(process.cpuUsage(c0)) });
  if (mode === 'raw') {
    const server = createServer((s) => {
      let rest = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        const text = rest + d;
        let start = 0;
        let i: number;
        while ((i = text.indexOf('\n', start)) >= 0) {
          const b = JSON.parse(text.slice(start, i)) as { recs: unknown[] };
          records += b.recs.length;
          start = i + 1;
        }
        rest = text.slice(start);
      });
      s.on('end', () => {
        report();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () =>
      process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`),
    );
    return;
  }
  const dp = dataPlane(1);
  if (mode === 'ports') await dp.connectPorts(workerData as ThreadPorts, 10_000);
  else {
    const port = await dp.listen();
    emit({ port });
    await dp.connect(async () => [arg], { self: `127.0.0.1:${port}`, timeoutMs: 10_000, retryMs: 20 });
  }
  const inp = dp.inboundChannel(0, 0);
  let wake: () => void = () => {};
  inp.setWake(() => wake());
  for (;;) {
    let el: ChannelElement | undefined;
    let ended = false;
    while ((el = inp.poll())) {
      if (el.kind === 'batch') records += el.batch.n;
      else if (el.kind === 'end') ended = true;
    }
    if (ended) break;
    await new Promise<void>((r) => (wake = r));
  }
  report();
  await dp.close();
}

if (process.argv[2] === 'receiver') await receiver(process.argv[3] as string, process.argv[4] as string);
