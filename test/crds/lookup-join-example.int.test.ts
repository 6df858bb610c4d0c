// The lookup-join example, the user's ways: `tributary run` of each shipped file from the
// checkout, and on the local cluster `kubectl apply` of the shipped
// crds/examples/orders-feed.yaml (items into Kudu, orders into Kafka) and orders-enriched.yaml
// (Kafka → kudu lookup by point gets → Kafka), in a namespace of its own with the StreamJob
// controller in-process and the real runtime in slot pods; then the output topic read from
// where it stood before: every order of an existing item carries that item's row, the others
// pass unenriched. The files name fixed topics and a fixed Kudu table (as a user's would), so
// the check reads only what was written after the test started. On another test lane's cluster
// the files run as edited to its addresses (checkout-view.ts), as their comments tell a user to.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../operator/src/controllers/streamjob/testing/kafka-job-harness.ts';
import { repoRoot } from '../cluster/paths.ts';
import { checkoutFor, clusterAddresses } from '../readme/checkout-view.ts';
import { KuduClient } from '../../runtime/src/connectors/kudu/client/kudu-client.ts';
import { startCli } from '../../runtime/src/testing/cli-process.ts';
import { testKuduMasters } from '../../runtime/src/testing/kudu-masters.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const OUTPUT = 'orders-enriched';
const WANT = 60;

/** kubectl without blocking the event loop (the operator under test runs in this process). */
function kubectl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run('kubectl', args);
}

/** Every order of an item (0..99) carries the item's row; the others pass as they came. */
function checkEnriched(out: Record<string, unknown>[]): void {
  let enriched = 0;
  for (const r of out) {
    const item = r['item'] as number;
    if (item < 100) {
      expect(r).toMatchObject({ title: `item-${item}`, price: item * 1.5 });
      enriched++;
    } else expect(Object.keys(r).sort()).toEqual(['item', 'order', 'qty']);
  }
  expect(enriched).toBeGreaterThan(0);
}

function run(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: process.env, cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The topic's end offsets now (created first when missing: the example's sink would create it). */
async function endOffsets(kafka: Kafka, topic: string): Promise<{ partition: number; offset: string }[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    return (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.offset }));
  } finally {
    await admin.disconnect();
  }
}

/** Records written to `topic` after `from`, until `n` of them arrived. */
async function readAfter(
  kafka: Kafka,
  topic: string,
  from: { partition: number; offset: string }[],
  n: number,
): Promise<Record<string, unknown>[]> {
  const consumer = kafka.consumer({ groupId: `lookup-join-check-${Date.now()}` });
  const got: Record<string, unknown>[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            got.push(JSON.parse(message.value?.toString() ?? 'null') as Record<string, unknown>);
            if (got.length === n) resolve();
          },
        })
        .catch(reject);
      for (const p of from) consumer.seek({ topic, partition: p.partition, offset: p.offset });
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

/** Waits until the example's Kudu table `items` holds `n` rows (the feed job creates and fills it). */
async function itemsLoaded(n: number): Promise<void> {
  const client = new KuduClient({ masters: [testKuduMasters()] });
  try {
    for (;;) {
      const table = await client.openTable('items').catch(() => undefined);
      let rows = 0;
      if (table) for await (const b of client.scan(table, { columns: ['id'] })) rows += b.length;
      if (rows >= n) return;
      await sleep(200);
    }
  } finally {
    await client.close();
  }
}

describe('crds/examples lookup join (orders-feed + orders-enriched) as StreamJobs', () => {
  let h: Harness;
  const tmp = mkdtempSync(join(tmpdir(), 'lookup-join-'));
  const checkout = checkoutFor(repoRoot, clusterAddresses(), tmp);
  const example = (f: string) => join(checkout, 'crds/examples', f);

  beforeAll(async () => {
    h = await startHarness('lookup-join', {});
  }, 120_000);

  afterAll(async () => {
    if (!h) return;
    for (const f of ['orders-enriched.yaml', 'orders-feed.yaml'])
      await kubectl(['delete', '-n', h.ns, '--wait=false', '-f', example(f)]);
    await h.close();
    rmSync(tmp, { recursive: true, force: true });
  }, 120_000);

  it('runs with `tributary run`, the feed first, then the join', async () => {
    const from = await endOffsets(h.kafka, OUTPUT);
    const feed = await startCli(['run', example('orders-feed.yaml'), '--duration', '5s']).done;
    expect(feed.code, feed.stderr.slice(-2000)).toBe(0);
    // The join runs until its output is there (its exactly-once sink commits at checkpoints),
    // then stops on Ctrl-C as a user's would: however slowly a loaded machine starts its slots.
    const enriched = startCli(['run', example('orders-enriched.yaml')]);
    let stopping = false;
    const early = enriched.done.then((r) => {
      if (!stopping)
        throw new Error(`the join exited ${String(r.code)} before its output arrived: ${r.stderr.slice(-2000)}`);
    });
    const late = sleep(240_000).then(() => {
      throw new Error(`no ${WANT} enriched orders after 240 s; the join's log: ${enriched.stderr.slice(-3000)}`);
    });
    late.catch(() => undefined);
    const out = await Promise.race([readAfter(h.kafka, OUTPUT, from, WANT), early.then(() => []), late]);
    stopping = true;
    enriched.child.kill('SIGINT');
    const r = await enriched.done;
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toContain('"msg":"job stopped"');
    checkEnriched(out);
  }, 300_000);

  it('enriches orders from Kafka with their Kudu item and writes them to Kafka', async () => {
    const from = await endOffsets(h.kafka, OUTPUT);
    const feed = await kubectl(['apply', '-n', h.ns, '-f', example('orders-feed.yaml')]);
    expect(feed.code, feed.stderr).toBe(0);
    // As a user would: the items are in Kudu before the job that looks them up starts (an order
    // looked up earlier would be cached as a miss for the ttl).
    await itemsLoaded(100);
    const job = await kubectl(['apply', '-n', h.ns, '-f', example('orders-enriched.yaml')]);
    expect(job.code, job.stderr).toBe(0);
    checkEnriched(await readAfter(h.kafka, OUTPUT, from, WANT));
  }, 600_000);
});
