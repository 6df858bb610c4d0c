// A known dataset in the local cluster's real Druid, for the druid connectors' integration
// tests: rows produced to a fresh Kafka topic and ingested by a Kafka supervisor (no rollup,
// so every row stays a row). Of Druid's ways in, this is the fastest real one on the local
// cluster (no multi-stage-query extension for SQL INSERT; a batch task would wait for the
// segment's handoff to the historical): rows answer SQL from the supervisor's task about a
// second after they are produced, and appending rows later is how a test changes the data.
// One dataset per test file (a task takes one of the indexer's 4 slots while it runs).
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { request } from 'undici';
import { ClusterError } from '../../../test/cluster/errors.ts';
import { createTopics, inputProducer, testBrokers } from './kafka-topics.ts';

/** The router URL the cluster's env exports; a clear error outside it. */
export function testDruidUrl(): string {
  const v = process.env['TRIBUTARY_DRUID_URL'];
  if (!v)
    throw new ClusterError(
      'CLUSTER_NOT_RUNNING',
      'druid',
      'TRIBUTARY_DRUID_URL is not set: run through `vitest --project integration` against the local cluster (with Druid) or eval its env',
    );
  return v;
}

/** A Druid dimension: a string one by name, or a typed one. */
export type DruidDimension = string | { type: 'long' | 'double' | 'float' | 'string'; name: string };

export interface DruidDatasetOptions {
  /** Datasource and topic name; unique per run. */
  name: string;
  /** Column of each row holding its time in epoch milliseconds. */
  timestampColumn: string;
  dimensions: readonly DruidDimension[];
}

async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await request(`${testDruidUrl()}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.statusCode, json };
}

/** Druid SQL through the router, failing on anything but 200 (test plumbing, not the connector's client). */
export async function druidSql(query: string): Promise<Record<string, unknown>[]> {
  const res = await call('POST', '/druid/v2/sql', { query, resultFormat: 'object' });
  if (res.status !== 200)
    throw new ClusterError(
      'CLUSTER_NOT_READY',
      'druid',
      `SQL failed (HTTP ${res.status}): ${JSON.stringify(res.json)}`,
    );
  return res.json as Record<string, unknown>[];
}

export class DruidDataset {
  readonly name: string;
  private readonly o: DruidDatasetOptions;
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private produced = 0;

  private constructor(o: DruidDatasetOptions) {
    this.o = o;
    this.name = o.name;
    this.kafka = new Kafka({ clientId: 'it-druid-dataset', brokers: testBrokers(), logLevel: logLevel.NOTHING });
  }

  /** Creates the topic and the supervisor, produces `rows`, and resolves once SQL sees all of them. */
  static async create(o: DruidDatasetOptions, rows: readonly Record<string, unknown>[]): Promise<DruidDataset> {
    const d = new DruidDataset(o);
    await createTopics(d.kafka, { [o.name]: 1 });
    d.producer = inputProducer(d.kafka);
    await d.producer.connect();
    await d.startSupervisor();
    await d.append(rows);
    return d;
  }

  private async startSupervisor(): Promise<void> {
    const res = await call('POST', '/druid/indexer/v1/supervisor', {
      type: 'kafka',
      spec: {
        dataSchema: {
          dataSource: this.o.name,
          timestampSpec: { column: this.o.timestampColumn, format: 'millis' },
          dimensionsSpec: { dimensions: this.o.dimensions },
          metricsSpec: [],
          granularitySpec: { segmentGranularity: 'day', queryGranularity: 'none', rollup: false },
        },
        ioConfig: {
          topic: this.o.name,
          inputFormat: { type: 'json' },
          consumerProperties: { 'bootstrap.servers': testBrokers().join(',') },
          useEarliestOffset: true,
          taskCount: 1,
          replicas: 1,
          // Never rolls over during a test (Druid refuses durations under a minute).
          taskDuration: 'PT30M',
          startDelay: 'PT1S',
          period: 'PT5S',
        },
        tuningConfig: { type: 'kafka', maxRowsInMemory: 100_000 },
      },
    });
    if (res.status !== 200)
      throw new ClusterError(
        'CLUSTER_NOT_READY',
        'druid',
        `refused the supervisor of ${this.o.name} (HTTP ${res.status}): ${JSON.stringify(res.json)}`,
      );
  }

  /** Produces more rows and resolves once SQL counts every row produced so far. */
  async append(rows: readonly Record<string, unknown>[]): Promise<void> {
    if (!this.producer) throw new ClusterError('CLUSTER_BAD_ARGS', 'druid', `dataset ${this.name} is dropped`);
    await this.producer.send({ topic: this.name, messages: rows.map((r) => ({ value: JSON.stringify(r) })) });
    this.produced += rows.length;
    await this.waitForRows(this.produced);
  }

  private async waitForRows(n: number): Promise<void> {
    const deadline = Date.now() + 180_000;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        // Before the first row the datasource does not exist and SQL answers 400 ("not found").
        const got = (await druidSql(`SELECT COUNT(*) AS n FROM "${this.name}"`))[0]?.['n'];
        if (got === n) return;
        last = `${String(got)} rows`;
      } catch (e) {
        last = (e as Error).message;
      }
      await sleep(250);
    }
    throw new ClusterError(
      'CLUSTER_NOT_READY',
      'druid',
      `datasource ${this.name} never showed ${n} rows in 180 s; last: ${String(last)}`,
    );
  }

  /** Terminates the supervisor, shuts its tasks down (frees the indexer's slot) and deletes the topic. */
  async drop(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
    await call('POST', `/druid/indexer/v1/supervisor/${this.name}/terminate`).catch(() => undefined);
    // A terminated supervisor's task keeps running to publish (and one may still be starting).
    for (let i = 0; i < 40; i++) {
      const running = await call('GET', `/druid/indexer/v1/tasks?state=running&datasource=${this.name}`).catch(
        () => undefined,
      );
      const ids = Array.isArray(running?.json) ? (running.json as { id: string }[]).map((t) => t.id) : [];
      if (ids.length === 0 && i > 3) break;
      for (const id of ids)
        await call('POST', `/druid/indexer/v1/task/${encodeURIComponent(id)}/shutdown`).catch(() => undefined);
      await sleep(250);
    }
    const admin = this.kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [this.name] }).catch(() => undefined);
    await admin.disconnect();
  }
}
