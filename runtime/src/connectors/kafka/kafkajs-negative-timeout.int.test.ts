// A plain kafkajs client (no module of ours loaded: a child process) against the local cluster's
// Kafka, as `npm run cluster -- up`, the test harnesses and the benches use kafkajs: it
// connects, asks for metadata and produces, and Node 24 reports no TimeoutNegativeWarning (the
// cause, kafkajs's request-queue schedule, is patched: patches/kafkajs+2.2.4.patch). Without the
// patch every response printed one. The queue alone, without a broker:
// kafkajs-negative-timeout.test.ts.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testBrokers } from '../../testing/kafka-topics.ts';

const repo = resolve(import.meta.dirname, '../../../..');
// The repository's Node 24 (npm ci installs it), as slot processes use.
const node = existsSync(join(repo, 'node_modules/.bin/node')) ? join(repo, 'node_modules/.bin/node') : process.execPath;

// CommonJS, evaluated with the repository as the working directory (require resolves from there).
const CLIENT = `
const warnings = [];
process.on('warning', (w) => warnings.push(w.name + ': ' + w.message + '\\n' + w.stack));
const { Kafka, logLevel } = require('kafkajs');
const [brokers, topic] = process.argv.slice(1);
const kafka = new Kafka({ clientId: 'negative-timeout-int', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const topics = await admin.listTopics();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'x' }] });
  // Responses keep coming (heartbeats, metadata): give the schedule time to run after them.
  await new Promise((r) => setTimeout(r, 300));
  await admin.deleteTopics({ topics: [topic] });
  await producer.disconnect();
  await admin.disconnect();
  process.stdout.write(JSON.stringify({ node: process.versions.node, listed: topics.includes(topic), warnings }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe('kafkajs against the real Kafka on Node 24', () => {
  it('prints no TimeoutNegativeWarning', async () => {
    const topic = `it-negative-timeout-${randomUUID().slice(0, 8)}`;
    const { stdout, stderr } = await promisify(execFile)(
      node,
      ['--trace-warnings', '-e', CLIENT, testBrokers().join(','), topic],
      { cwd: repo },
    );
    const r = JSON.parse(stdout) as { node: string; listed: boolean; warnings: string[] };
    expect(Number(r.node.split('.')[0])).toBeGreaterThanOrEqual(24);
    expect(r.listed).toBe(true);
    expect(r.warnings.filter((w) => w.startsWith('TimeoutNegativeWarning'))).toEqual([]);
    expect(stderr).not.toContain('TimeoutNegativeWarning');
  });
});
