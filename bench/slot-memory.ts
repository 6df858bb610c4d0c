// Slot memory: the RSS of each slot process of `tributary run --distributed -p 2` (the local
// supervisor: one OS process per slot, slot 0 also the checkpoint coordinator) on q0, a
// Kafka → Kafka pass-through (bounded input, checkpoints every second, exactly-once output) on
// the local cluster's Kafka. Each slot's VmRSS (/proc/<pid>/status) is sampled every 50 ms
// while it runs; reported: its peak RSS, its VmHWM, the ratio of the peak to the 250 MiB target,
// and the job's records/s (input records over the wall time from spawn to the last exit), for
// the slots as shipped (SLOT_NODE_FLAGS: a capped young generation) and for slots without those
// flags (V8 sizing the young generation itself), so the memory cut and its throughput sit side
// by side in the same run.
//
// Needs the local cluster's Kafka (TRIBUTARY_KAFKA_BROKERS: eval "$(npm run -s cluster -- env)");
// skipped with a message otherwise. Env: BENCH_SLOT_MEMORY_RECORDS (default 300,000), BENCH_ROUNDS.
// Run alone: BENCH_ONLY=slot-memory npm run bench
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { CONTRACT_VERSION } from '../runtime/src/control/contract.ts';
import { validateGraph } from '../runtime/src/connectors/validate-graph.ts';
import type { GraphSpec } from '../runtime/src/graph/spec.ts';
import { TributaryError } from '../runtime/src/errors.ts';
import { SLOT_NODE_FLAGS } from '../runtime/src/process/slot-node-flags.ts';
import { Supervisor } from '../runtime/src/process/supervisor.ts';
import { silentLogger } from '../runtime/src/telemetry/logger.ts';
import { createTopics, deleteTopicsContaining } from '../runtime/src/testing/kafka-topics.ts';

const TARGET_MIB = 250;
const PARALLELISM = 2;
const PARTITIONS = 4;
const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const fmt2 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 });
const fmt1 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });

interface SlotMemory {
  slot: number;
  peakRssMiB: number;
  hwmMiB: number;
}

interface Q0Run {
  slots: SlotMemory[];
  recordsPerSecond: number;
}

/** VmRSS and VmHWM of a live process, in MiB (undefined once it is gone). */
function memoryOf(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

async function runQ0(brokers: string[], input: string, records: number, nodeFlags: readonly string[]): Promise<Q0Run> {
  const id = randomUUID().slice(0, 8);
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-slot-memory-'));
  const graph: GraphSpec = {
    sources: [{ name: 'in', kafka: { brokers, topic: input, groupId: `bench-q0-${id}`, bounded: 'latest' } }],
    sinks: [{ name: 'out', from: 'in', kafka: { brokers, topic: `${input}-out-${id}` } }],
  };
  validateGraph(graph);
  const peaks = new Map<number, SlotMemory>();
  const pids: { slot: number; pid: number }[] = [];
  const sup = new Supervisor({
    config: {
      contractVersion: CONTRACT_VERSION,
      jobName: `bench-q0-${id}`,
      graph,
      parallelism: PARALLELISM,
      maxParallelism: 64,
      checkpointing: { intervalMs: 1000, timeoutMs: 60_000, retained: 1 },
      stateDir,
      allowNonRestoredState: false,
    },
    logger: silentLogger(),
    maxRestarts: 0,
    stdio: 'pipe',
    env: { TRIBUTARY_LOG_LEVEL: 'warn' },
    nodeFlags,
    onAttempt: (a) => {
      for (const s of a.slots) {
        s.child.stdout?.resume();
        s.child.stderr?.resume();
        pids.push({ slot: s.slot, pid: s.pid });
      }
    },
  });
  const sample = (): void => {
    for (const { slot, pid } of pids) {
      const m = memoryOf(pid);
      if (!m) continue;
      const p = peaks.get(slot) ?? { slot, peakRssMiB: 0, hwmMiB: 0 };
      peaks.set(slot, { slot, peakRssMiB: Math.max(p.peakRssMiB, m.rss), hwmMiB: Math.max(p.hwmMiB, m.hwm) });
    }
  };
  const timer = setInterval(sample, 50);
  const started = performance.now();
  try {
    const result = await sup.run();
    if (result.state !== 'FINISHED') throw new TributaryError('TRIB_JOB_FAILED', `q0 ended ${result.state}`);
  } finally {
    clearInterval(timer);
    rmSync(stateDir, { recursive: true, force: true });
  }
  const wallMs = performance.now() - started;
  return {
    slots: [...peaks.values()].sort((a, b) => a.slot - b.slot),
    recordsPerSecond: (records * 1000) / wallMs,
  };
}

async function fill(kafka: kafkajs.Kafka, topic: string, records: number): Promise<void> {
  await createTopics(kafka, { [topic]: PARTITIONS });
  const producer = kafka.producer();
  await producer.connect();
  const pad = 'x'.repeat(60);
  for (let at = 0; at < records; at += 10_000) {
    const n = Math.min(10_000, records - at);
    await producer.send({
      topic,
      messages: Array.from({ length: n }, (_, j) => ({
        key: `k${(at + j) % 1000}`,
        value: JSON.stringify({ id: at + j, user: `u${(at + j) % 1000}`, amount: (at + j) % 97, pad }),
      })),
    });
  }
  await producer.disconnect();
}

export async function slotMemoryBenchmarks(): Promise<void> {
  const records = Number(process.env['BENCH_SLOT_MEMORY_RECORDS'] ?? 300_000);
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
  const brokersEnv = process.env['TRIBUTARY_KAFKA_BROKERS'];
  process.stdout.write(
    `\nslot memory: RSS per slot process of tributary run --distributed -p ${PARALLELISM}, q0 Kafka → Kafka pass-through (${fmt.format(records)} records, ${PARTITIONS} partitions, exactly-once out), target ${TARGET_MIB} MiB per slot; worst of ${rounds} for memory, best for records/s\n`,
  );
  if (!brokersEnv) {
    process.stdout.write('  skipped: no Kafka (TRIBUTARY_KAFKA_BROKERS unset: eval "$(npm run -s cluster -- env)")\n');
    return;
  }
  const brokers = brokersEnv.split(',');
  const run = randomUUID().slice(0, 8);
  const kafka = new kafkajs.Kafka({
    clientId: 'bench-slot-memory',
    brokers,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const input = `bench-slot-memory-${run}`;
  const variants: { name: string; nodeFlags: readonly string[] }[] = [
    { name: `as shipped (${SLOT_NODE_FLAGS.join(' ')})`, nodeFlags: SLOT_NODE_FLAGS },
    { name: "V8's default young generation (no flags)", nodeFlags: [] },
  ];
  try {
    await fill(kafka, input, records);
    const results = variants.map(() => ({ worst: new Map<number, SlotMemory>(), best: 0 }));
    for (let r = 0; r < rounds; r++)
      for (const [i, v] of variants.entries()) {
        const got = await runQ0(brokers, input, records, v.nodeFlags);
        const acc = results[i]!;
        acc.best = Math.max(acc.best, got.recordsPerSecond);
        for (const s of got.slots) {
          const w = acc.worst.get(s.slot);
          acc.worst.set(s.slot, {
            slot: s.slot,
            peakRssMiB: Math.max(w?.peakRssMiB ?? 0, s.peakRssMiB),
            hwmMiB: Math.max(w?.hwmMiB ?? 0, s.hwmMiB),
          });
        }
      }
    const base = results[0]!.best;
    for (const [i, v] of variants.entries()) {
      const acc = results[i]!;
      process.stdout.write(
        `  ${v.name}: ${fmt.format(acc.best)} records/s (${fmt1.format(acc.best / base)}x as shipped)\n`,
      );
      for (const s of [...acc.worst.values()].sort((a, b) => a.slot - b.slot))
        process.stdout.write(
          `    slot ${s.slot}${s.slot === 0 ? ' (+coordinator)' : ''}: peak RSS ${fmt1.format(s.peakRssMiB)} MiB, VmHWM ${fmt1.format(s.hwmMiB)} MiB, ${fmt2.format(s.hwmMiB / TARGET_MIB)}x the ${TARGET_MIB} MiB target\n`,
        );
    }
  } finally {
    await deleteTopicsContaining(kafka, run);
  }
}
