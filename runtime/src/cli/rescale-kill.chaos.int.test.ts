// The kill matrix of a local live rescale (docs/design/live-rescale.md §6): a `tributary run job.yaml
// --single-thread --control-port 0` (Kafka → keyBy → rolling count → exactly-once Kafka) is SIGKILLed while
// `tributary rescale` moves it — joining (2 → 3, before the first step), moving (mid-step: a 1-byte budget,
// TRIBUTARY_RESCALE_BUDGET_BYTES, makes every key group a step), draining (3 → 1) and right after done. Every
// slot runs in that one process, so the kill takes old and new slots at once. A rerun restores the newest
// completed checkpoint (`--restore`, as a user would) at the old parallelism in some cases and the new one in
// others — §6: either is exactly-once — reads the rest of the input, and stops with Ctrl-C after a checkpoint
// completed past the last record (Ctrl-C takes none). Kafka's Java read_committed consumer must then read
// exactly the reference (every key's counts 1..n with its n-th id): 0 missing, 0 duplicated, 0 unexpected.
//
// A phase is hit by the runtime's own log lines (rescale/rescale-local.ts): the kill is sent on the line, and the
// killed run's stderr must not hold the next phase's line, so the kill landed inside the phase it names.
// CI runs the four cases once; TRIBUTARY_RESCALE_KILL_ROUNDS=n repeats the matrix n times (the long form).
// A kill of one slot process of a `--distributed` run, which the run recovers from by itself, is
// rescale-kill-distributed.chaos.int.test.ts's; the input, reference and verdict are testing/rescale-kill.ts's.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { latestCheckpointPath } from '../checkpoint/coordinator.ts';
import type { StatusResponse } from '../control/contract.ts';
import { startCli, type CliRun } from '../testing/cli-process.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics } from '../testing/kafka-topics.ts';
import {
  BEFORE,
  CHUNKS,
  committedDiff,
  counts,
  killManifest,
  lastPerKey,
  logLines,
  midStep,
  PER_CHUNK,
  phase,
  rescaleDone,
  sleep,
  TOKEN,
  watchOutput,
  writeChunks,
  type LogLine,
} from '../testing/rescale-kill.ts';

const ROUNDS = Number(process.env['TRIBUTARY_RESCALE_KILL_ROUNDS'] ?? 1);

interface KillCase {
  name: string;
  from: number;
  to: number;
  /** The log line to kill on. */
  at: (l: LogLine) => boolean;
  /** A line the killed run must not have written: the phase after the one killed in. */
  notReached?: (l: LogLine) => boolean;
  /** The parallelism of the rerun. */
  rerunAt: number;
  budgetBytes?: number;
}

const CASES: KillCase[] = [
  {
    name: 'joining (2 → 3), rerun at 2',
    from: 2,
    to: 3,
    at: phase('joining'),
    notReached: phase('moving'),
    rerunAt: 2,
  },
  {
    name: 'moving, mid-step (2 → 3), rerun at 3',
    from: 2,
    to: 3,
    budgetBytes: 1,
    at: midStep,
    notReached: rescaleDone,
    rerunAt: 3,
  },
  { name: 'draining (3 → 1), rerun at 1', from: 3, to: 1, at: phase('draining'), notReached: rescaleDone, rerunAt: 1 },
  { name: 'right after done (2 → 3), rerun at 2', from: 2, to: 3, at: rescaleDone, rerunAt: 2 },
];

describe('tributary rescale: SIGKILL at each phase of a local live rescale (real Kafka)', () => {
  const { run, bs, kafka } = kafkaTestRun('tributary-rescale-kill-it');
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const portOf = (job: CliRun): string | undefined =>
    /"url":"http:\/\/127\.0\.0\.1:(\d+)\/v1\/status"/.exec(job.stderr)?.[1];

  async function status(job: CliRun): Promise<StatusResponse> {
    const res = await fetch(`http://127.0.0.1:${portOf(job)}/v1/status`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    return (await res.json()) as StatusResponse;
  }

  async function running(job: CliRun): Promise<void> {
    await expect.poll(() => portOf(job), { timeout: 60_000 }).toBeDefined();
    await expect.poll(async () => (await status(job)).state, { timeout: 60_000 }).toBe('RUNNING');
  }

  for (let round = 1; round <= ROUNDS; round++)
    for (const [i, c] of CASES.entries())
      it(`round ${round}: SIGKILL while ${c.name}: exactly-once`, { timeout: 180_000 }, async () => {
        const tag = `${run}-${round}-${i}`;
        const input = `rescale-kill-in-${tag}`;
        const output = `rescale-kill-out-${tag}`;
        await createTopics(kafka, { [input]: 4, [output]: 1 });
        const dir = await mkdtemp(join(tmpdir(), 'tributary-rescale-kill-'));
        const file = join(dir, 'job.yaml');
        await writeFile(file, stringify(killManifest(bs, `rescale-kill-${tag}`, c.from, input, output)));
        const tokenFile = join(dir, 'token');
        await writeFile(tokenFile, TOKEN, { mode: 0o600 });
        const env: Record<string, string> = { TRIBUTARY_CONTROL_TOKEN_FILE: tokenFile };
        if (c.budgetBytes !== undefined) env['TRIBUTARY_RESCALE_BUDGET_BYTES'] = String(c.budgetBytes);
        const runArgs = (state: string): string[] => [
          'run',
          file,
          '--single-thread',
          '--control-port',
          '0',
          '--state-dir',
          state,
          '--no-progress',
        ];
        await writeChunks(kafka, input, 0, BEFORE, 0);

        // The first run: SIGKILLed on the case's log line.
        let killed = false;
        const first = startCli(runArgs(join(dir, 'state-1')), {
          env,
          onStderr: (text, child) => {
            if (!killed && logLines(text).some(c.at)) {
              killed = true;
              child.kill('SIGKILL');
            }
          },
        });
        let rest: Promise<void> | undefined;
        try {
          await running(first);
          await expect
            .poll(async () => (await status(first)).recordsIn ?? 0, { timeout: 60_000 })
            .toBe(BEFORE * PER_CHUNK);
          await expect.poll(async () => (await status(first)).lastCheckpoint, { timeout: 60_000 }).toBeDefined();
          // Input keeps arriving through the rescale; the last chunks wait for the kill, so the rerun has input.
          rest = writeChunks(kafka, input, BEFORE, CHUNKS, 50, [CHUNKS - 4, first.done]);
          const port = portOf(first) as string;
          const req = await startCli(['rescale', '--control-port', port, '--to', String(c.to), '--no-wait'], { env })
            .done;
          expect(req.code, req.stderr).toBe(0);
          const end = await first.done;
          await writeFile(join(dir, 'first.log'), end.stderr);
          expect(killed, end.stderr.slice(-4000)).toBe(true);
          expect(end.code).toBeNull();
          if (c.notReached) expect(logLines(end.stderr).filter(c.notReached), 'killed past the phase').toEqual([]);
        } finally {
          first.child.kill('SIGKILL');
        }
        await rest;

        // The rerun: the newest completed checkpoint, at the case's parallelism, reads the rest and stops.
        const chk = await latestCheckpointPath(join(dir, 'state-1'));
        expect(chk).toBeDefined();
        const outputSeen = await watchOutput(kafka, output);
        const rerun = startCli(
          [...runArgs(join(dir, 'state-2')), '--restore', chk as string, '--parallelism', String(c.rerunAt)],
          { env },
        );
        try {
          await running(rerun);
          // Read, not yet committed: every key's last count is in the output (the killed run never saw the last
          // chunks, so only the rerun can have written it). The status has no source lag on a local run. A count
          // off by a lost or repeated record never shows: then the diff below says what went wrong, not a timeout.
          for (let waited = 0; waited < 120_000 && !outputSeen.has(lastPerKey); waited += 500) await sleep(500);
          // A checkpoint completed after that may have been triggered before; the one after it was not.
          const allRead = new Date().toISOString();
          const after = async (): Promise<number> => {
            const last = (await status(rerun)).lastCheckpoint;
            return last && last.completedAt > allRead ? last.id : -1;
          };
          await expect.poll(after, { timeout: 60_000 }).toBeGreaterThan(0);
          const firstAfter = await after();
          await expect.poll(after, { timeout: 60_000 }).toBeGreaterThan(firstAfter);
          expect((await status(rerun)).parallelism).toBe(c.rerunAt);
          rerun.child.kill('SIGINT');
          const end = await rerun.done;
          await writeFile(join(dir, 'rerun.log'), end.stderr);
          expect(end.code, end.stderr.slice(-4000)).toBe(0);
        } finally {
          rerun.child.kill('SIGKILL');
          await outputSeen.stop();
        }

        const diff = await committedDiff(bs, output);
        // A failing case keeps its folder (both runs' logs, the diff, the checkpoints) for the diagnosis.
        await writeFile(join(dir, 'diff.json'), JSON.stringify({ restored: chk, ...diff }, null, 1));
        expect(counts(diff), `kept: ${dir}`).toEqual({ missing: 0, duplicated: 0, unexpected: 0 });
        dirs.push(dir);
      });
});
