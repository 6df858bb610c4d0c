// Ctrl-C during a bounded job's final checkpoint: `tributary run --distributed` (two slot
// processes) of Kafka (`bounded: latest`) → keyBy → running count → exactly-once Kafka, its
// checkpoints in S3. Every source reached its end of input before the stop, so the stop ends
// nothing and the final checkpoint must still complete: the run exits 0 and a read_committed
// reader sees every input record exactly once. A stop rule that declined every checkpoint from the
// stop on left the final checkpoint declined until the slots were killed after the stop's grace
// period: the run "stopped" with none of its 4,000 records committed.
// The stop is steered into the final checkpoint by a proxy in front of S3 that holds each request
// from the first "input ended" line on (a real server cannot be made slow on demand).
import { readTopic } from '../testing/kafka-reader.ts'; // first: it patches kafkajs
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { delayingProxy } from '../../../test/harness/delaying-proxy.ts';
import type { GraphSpec } from '../graph/spec.ts';
import { startCli } from '../testing/cli-process.ts';
import { kafkaTestRun } from '../testing/kafka-test-run.ts';
import { createTopics, writeNumbered } from '../testing/kafka-topics.ts';

const N = 4_000;
const PARTITIONS = 2;
const FINAL_WAIT = 'input ended; waiting for the final checkpoint';

describe('Ctrl-C during the final checkpoint of a bounded distributed run', () => {
  const { run, bs, kafka } = kafkaTestRun();
  const input = `it-bstop-in-${run}`;
  const output = `it-bstop-out-${run}`;
  const dir = mkdtempSync(join(tmpdir(), 'trib-bstop-'));

  const graph: GraphSpec = {
    sources: [
      {
        name: 'in',
        kafka: { brokers: bs, topic: input, groupId: `it-bstop-${run}`, bounded: 'latest', schema: { n: 'double' } },
      },
    ],
    // The exchange makes a slot's input end only once every slot's source ended, and the running
    // count gives every slot state files to write in each checkpoint (held by the proxy).
    steps: [
      { name: 'byN', from: 'in', keyBy: 'n' },
      { name: 'seen', from: 'byN', aggregate: { c: 'count()' } },
    ],
    sinks: [{ name: 'out', from: 'seen', kafka: { brokers: bs, topic: output, delivery: 'exactly-once' } }],
  };

  it('commits every record exactly once and exits 0', async () => {
    await createTopics(kafka, { [input]: PARTITIONS, [output]: 1 });
    await writeNumbered(kafka, input, N, PARTITIONS);
    const file = join(dir, 'job.json');
    writeFileSync(file, JSON.stringify(graph));
    const s3 = new URL(process.env.TRIBUTARY_S3_ENDPOINT as string);
    let slow = false;
    const proxy = await delayingProxy({ host: s3.hostname, port: Number(s3.port) }, () => (slow ? 2_000 : 0));
    let interruptedAt: number | undefined;
    try {
      const r = startCli(
        [
          'run',
          file,
          '--parallelism',
          '2',
          '--distributed',
          '--checkpoint-interval',
          '300ms',
          '--state-dir',
          `s3://${process.env.TRIBUTARY_S3_BUCKET as string}/it-bstop-${run}`,
          '--no-progress',
        ],
        {
          env: { TRIBUTARY_S3_ENDPOINT: proxy.endpoint },
          onStderr: (text, child) => {
            if (interruptedAt !== undefined || !text.includes(FINAL_WAIT)) return;
            slow = true;
            interruptedAt = text.length;
            // The final checkpoint's state writes are held 2 s each: Ctrl-C lands while they are.
            setTimeout(() => child.kill('SIGINT'), 300);
          },
        },
      );
      const res = await r.done;
      expect(interruptedAt, 'the run reached its final checkpoint').toBeDefined();
      const lines = res.stderr.split('\n');
      // What the run did around the stop, for a failure's message.
      const story = lines.filter((l) => /stopping all slots|declin|final|job (stopped|finished)|failed/.test(l));
      const summary = story.map((l) => l.slice(0, 300)).join('\n');
      expect(res.code, summary).toBe(0);
      // Read after the exit: what the run left uncommitted a read_committed reader never sees.
      const got = await readTopic(kafka, output, { expected: N, timeoutMs: 20_000, settleMs: 2_000 });
      const ns = got.map((g) => (JSON.parse(g.value) as { n: number }).n);
      expect(ns.length, `records committed\n${summary}`).toBe(N);
      expect(new Set(ns).size).toBe(N);
      const stopped = lines.findIndex((l) => l.includes('stopping all slots'));
      const final = lines.findIndex((l) => l.includes('"final":true') && l.includes('checkpoint completed'));
      expect(stopped, 'Ctrl-C was handled').toBeGreaterThanOrEqual(0);
      expect(final, `the final checkpoint completed after the stop\n${summary}`).toBeGreaterThan(stopped);
    } finally {
      await proxy.close();
    }
  });
});
