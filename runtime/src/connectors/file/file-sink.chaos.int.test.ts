// The file sink under real SIGKILLs, run as users run it: the local supervisor (`tributary run
// --distributed`: one process per slot, checkpoints every 200 ms) writing one file per slot
// (`out-{slot}.jsonl`) from a rate-limited datagen source whose record i carries id i.
//   * restart: a slot is killed right after a checkpoint completes; the supervisor restarts every
//     slot from that checkpoint. Before, each restart opened the files with 'w' and erased all
//     output written before it.
//   * --restore at another parallelism: a run at p 3 is killed (no restarts), a new run restores
//     its latest checkpoint at p 2 (the supervisor's restoreFrom, what `tributary run --restore`
//     does), so slot 0 also cuts the file of old slot 2, which no slot writes any more.
// Each file is cut back to its checkpointed length on restore, so the lines read back hold every
// id exactly once: nothing lost (the bug), nothing twice (the cut). No cluster component is used
// but processes and the local disk.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTRACT_VERSION } from '../../control/contract.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { Supervisor } from '../../process/supervisor.ts';
import { silentLogger } from '../../telemetry/logger.ts';
import { SlotKills } from '../../testing/slot-kills.ts';
import { validateGraph } from '../validate-graph.ts';

const RECORDS = 24_000;
const RATE = 6_000; // records/s over all slots: a run of ~4 s, many checkpoints, a kill mid-way

const root = mkdtempSync(join(tmpdir(), 'trib-file-kill-'));
let keep = false;
afterAll(() => {
  if (!keep) rmSync(root, { recursive: true, force: true });
});

const graph = (outDir: string): GraphSpec => ({
  sources: [
    {
      name: 'events',
      datagen: { generator: 'schema', rate: RATE, count: RECORDS, fields: { id: { type: 'sequence' } } },
    },
  ],
  steps: [],
  sinks: [{ name: 'out', from: 'events', file: { path: join(outDir, 'out-{slot}.jsonl') } }],
});

function supervisor(
  name: string,
  o: { outDir: string; stateDir: string; p: number; maxRestarts: number; restoreFrom?: string; kills: SlotKills },
): Supervisor {
  const g = graph(o.outDir);
  validateGraph(g);
  return new Supervisor({
    config: {
      contractVersion: CONTRACT_VERSION,
      jobName: name,
      graph: g,
      parallelism: o.p,
      maxParallelism: 128,
      checkpointing: { intervalMs: 200, timeoutMs: 30_000, retained: 2 },
      stateDir: o.stateDir,
      allowNonRestoredState: false,
    },
    ...(o.restoreFrom ? { restoreFrom: o.restoreFrom } : {}),
    logger: silentLogger(),
    maxRestarts: o.maxRestarts,
    backoffMs: 200,
    env: { TRIBUTARY_LOG_LEVEL: 'info' },
    ...o.kills.hooks(),
  });
}

/** Ids in every `out-*.jsonl` of `dir`: how many are missing and how many appear more than once. */
function count(dir: string): { lines: number; missing: number[]; duplicated: number } {
  const seen = new Map<number, number>();
  let lines = 0;
  for (const f of readdirSync(dir).filter((n) => /^out-\d+\.jsonl$/.test(n))) {
    for (const l of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (l === '') continue;
      lines++;
      const id = (JSON.parse(l) as { id: number }).id;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
  }
  const missing: number[] = [];
  for (let i = 0; i < RECORDS; i++) if (!seen.has(i)) missing.push(i);
  let duplicated = 0;
  for (const n of seen.values()) duplicated += n - 1;
  return { lines, missing, duplicated };
}

function check(dir: string, what: string, kills: SlotKills): void {
  const c = count(dir);
  process.stderr.write(
    `file sink ${what}: ${c.lines} lines, missing ${c.missing.length}, duplicated ${c.duplicated}; ${kills.summary()}\n`,
  );
  if (c.missing.length > 0 || c.duplicated > 0) keep = true;
  expect(c.missing.length, `${what}: ids missing (first ${c.missing.slice(0, 5).join(', ')}); kept in ${dir}`).toBe(0);
  expect(c.duplicated, `${what}: duplicated lines; kept in ${dir}`).toBe(0);
  expect(c.lines).toBe(RECORDS);
}

describe('file sink under SIGKILL (local supervisor, one process per slot)', () => {
  it('a slot killed right after a checkpoint: the restart keeps every line written before it', async () => {
    const dir = join(root, 'restart');
    const outDir = join(dir, 'out');
    mkdirSync(outDir, { recursive: true });
    const kills = new SlotKills({ stateDir: join(dir, 'state'), logDir: dir });
    const run = kills.follow(
      supervisor('file-restart', { outDir, stateDir: join(dir, 'state'), p: 2, maxRestarts: 5, kills }).run(),
    );
    await kills.started();
    // Past start-up: a checkpoint with output behind it, then the kill as soon as one more completes.
    const first = await kills.nextCheckpoint(undefined);
    await kills.nextCheckpoint(first);
    const kill = await kills.killRunningSlot();
    expect(kill, 'the job ended before the kill').toBeDefined();
    const result = await run;
    expect(result.state).toBe('FINISHED');
    expect(result.restarts).toBeGreaterThanOrEqual(1);
    check(outDir, 'restart', kills);
  }, 120_000);

  it('--restore of a killed run at a lower parallelism: the files of every old slot end at the checkpoint', async () => {
    const dir = join(root, 'restore');
    const outDir = join(dir, 'out');
    const stateDir = join(dir, 'state');
    mkdirSync(outDir, { recursive: true });
    const kills = new SlotKills({ stateDir, logDir: dir });
    const first = kills.follow(supervisor('file-restore', { outDir, stateDir, p: 3, maxRestarts: 0, kills }).run());
    first.catch(() => undefined);
    await kills.started();
    const cp = await kills.nextCheckpoint(undefined);
    await kills.nextCheckpoint(cp);
    await kills.killRunningSlot();
    await expect(first).rejects.toThrow(); // no restarts: the run fails, as a user's Ctrl-less crash
    const restoreFrom = await kills.latestCheckpoint();
    expect(restoreFrom).toBeDefined();

    const again = new SlotKills({ stateDir, logDir: dir });
    const second = again.follow(
      supervisor('file-restore', { outDir, stateDir, p: 2, maxRestarts: 0, restoreFrom, kills: again }).run(),
    );
    expect((await second).state).toBe('FINISHED');
    check(outDir, `restore from ${restoreFrom} at p 2`, kills);
  }, 120_000);
});
