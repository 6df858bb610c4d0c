// Apache Kafka in the local cluster (`up --with kafka`): one KRaft node (broker and controller)
// from Maven Central's jars, data under the cluster folder, every port on loopback. Tests can
// stop the broker for real and start it again (stopKafkaBroker / startKafkaBroker).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ClusterError } from '../errors.ts';
import { coordinatorsAnswer, OFFSETS_PARTITIONS, TRANSACTION_STATE_PARTITIONS } from './kafka-coordinators.ts';
import { repoRoot, versions, type ClusterPaths } from '../paths.ts';
import { host, ports } from '../ports.ts';
import {
  assertPortFree,
  isAlive,
  killProcess,
  portOpen,
  runToLog,
  startDetached,
  stopProcess,
  waitUntil,
  type Started,
} from '../process.ts';
import { readState, writeState, type ClusterState } from '../state.ts';

const component = 'kafka';

export const kafkaBrokers = `${host}:${ports.kafka}`;

/** The broker's runtime classpath from Maven Central, copied once per version into the cache. */
export async function ensureKafkaJars(paths: ClusterPaths, logFile: string): Promise<void> {
  if (existsSync(join(paths.kafkaLib, `kafka_2.13-${versions.kafka}.jar`))) return;
  mkdirSync(dirname(paths.kafkaLib), { recursive: true });
  const tmp = `${paths.kafkaLib}.partial`;
  await runToLog(
    'kafka-download',
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      join(repoRoot, 'test/cluster/kafka/pom.xml'),
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${tmp}`,
      `-Dkafka.version=${versions.kafka}`,
    ],
    logFile,
  );
  // Renamed only when complete, so an interrupted download is never mistaken for a cache hit.
  rmSync(paths.kafkaLib, { recursive: true, force: true });
  renameSync(tmp, paths.kafkaLib);
}

function serverProperties(paths: ClusterPaths): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${ports.kafkaController}`,
    `listeners=PLAINTEXT://${host}:${ports.kafka},CONTROLLER://${host}:${ports.kafkaController}`,
    `advertised.listeners=PLAINTEXT://${host}:${ports.kafka}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${join(paths.kafkaData, 'logs')}`,
    'num.partitions=1',
    // Single node: every internal topic must be satisfiable with one replica, or transactions hang.
    'offsets.topic.replication.factor=1',
    `offsets.topic.num.partitions=${OFFSETS_PARTITIONS}`,
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    `transaction.state.log.num.partitions=${TRANSACTION_STATE_PARTITIONS}`,
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    'transaction.max.timeout.ms=900000',
    'log.flush.interval.messages=9223372036854775807',
    // Tests replay fixed event times from 2023, and sinks stamp messages with event time:
    // with time-based retention Kafka rolls and deletes those segments within minutes,
    // under a reader's feet. Test data lives as long as the cluster.
    'log.retention.ms=-1',
    '',
  ].join('\n');
}

const java = (paths: ClusterPaths, heap: string): string[] => [
  `-Xmx${heap}`,
  `-Xms${heap}`,
  '-XX:+UseG1GC',
  '-Djava.awt.headless=true',
  '-cp',
  `${paths.kafkaLib}/*`,
];

export async function startKafka(paths: ClusterPaths): Promise<Started> {
  await assertPortFree(component, ports.kafka);
  await assertPortFree(component, ports.kafkaController);
  mkdirSync(paths.kafkaData, { recursive: true });
  const props = join(paths.kafkaData, 'server.properties');
  writeFileSync(props, serverProperties(paths));
  const logFile = join(paths.logs, 'kafka.log');
  const logDir = join(paths.kafkaData, 'logs');
  if (!existsSync(logDir) || readdirSync(logDir).length === 0) {
    // KRaft needs a formatted log dir; any base64url 16-byte id is a valid cluster id. It is passed as
    // `--cluster-id=<id>` because a base64url id may start with '-', which the tool's parser would read as a flag.
    const clusterId = randomBytes(16).toString('base64url');
    await runToLog(
      component,
      'java',
      [
        ...java(paths, '256m'),
        'kafka.tools.StorageTool',
        'format',
        `--cluster-id=${clusterId}`,
        '-c',
        props,
        '--ignore-formatted',
      ],
      logFile,
    );
  }
  const p = startDetached(component, 'java', [...java(paths, '768m'), 'kafka.Kafka', props], logFile);
  await waitUntil(p, 'serving metadata', () => kafkaAnswers(), 90_000);
  // Every test (and job) may use consumer groups and transactions at once: their coordinators too.
  await waitUntil(p, 'serving group and transaction coordinators', () => coordinatorsAnswer(kafkaBrokers), 90_000);
  return p;
}

function brokerOfState(paths: ClusterPaths): { state: ClusterState; index: number } {
  const state = readState(paths);
  const index = state?.components.findIndex((c) => c.component === component) ?? -1;
  if (!state || index < 0) {
    throw new ClusterError('CLUSTER_NOT_READY', component, 'not part of the running cluster (is the kafka addon up?)');
  }
  return { state, index };
}

/**
 * Stops the running cluster's broker for real: SIGKILL (a crash: no controlled shutdown, open
 * connections reset) or SIGTERM (a clean shutdown). Resolves when the process is gone. The state
 * file keeps naming it, so `status` shows it STOPPED and `down` stays right; `startKafkaBroker`
 * brings it back.
 */
export async function stopKafkaBroker(paths: ClusterPaths, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
  const { state, index } = brokerOfState(paths);
  const p = state.components[index]!;
  if (signal === 'SIGKILL') await killProcess(p);
  else await stopProcess(p, 30_000);
  // The JVM's threads outlive its main one for a moment, holding the port: until it is free,
  // clients would not be refused yet and startKafkaBroker would find the port in use.
  for (const deadline = Date.now() + 30_000; await portOpen(ports.kafka, host);) {
    if (Date.now() > deadline)
      throw new ClusterError(
        'CLUSTER_NOT_READY',
        component,
        `port ${host}:${ports.kafka} still open 30 s after the stop`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Freezes (SIGSTOP) or thaws (SIGCONT) the running cluster's broker: a hung broker, whose port
 * still accepts connections (the kernel completes the handshake) but which answers nothing.
 * A test that freezes it thaws it in a `finally`.
 */
export function signalKafkaBroker(paths: ClusterPaths, signal: 'SIGSTOP' | 'SIGCONT'): void {
  const { state, index } = brokerOfState(paths);
  const p = state.components[index]!;
  if (!isAlive(p)) throw new ClusterError('CLUSTER_NOT_RUNNING', component, `cannot ${signal} a stopped broker`);
  process.kill(p.pid, signal);
}

/**
 * Starts the broker `stopKafkaBroker` stopped, as `up` does (same ports, same data folder, so
 * topics, committed offsets and the transaction log survive), and resolves when it serves
 * metadata again. Nothing to start when it runs (safe in a test's `finally`).
 */
export async function startKafkaBroker(paths: ClusterPaths): Promise<void> {
  const { state, index } = brokerOfState(paths);
  const p = state.components[index]!;
  if (isAlive(p)) {
    await waitUntil(p, 'serving metadata', () => kafkaAnswers(), 90_000);
    await waitUntil(p, 'serving group and transaction coordinators', () => coordinatorsAnswer(kafkaBrokers), 90_000);
    return;
  }
  state.components[index] = await startKafka(paths);
  writeState(paths, state);
}

export async function kafkaAnswers(): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'tributary-cluster-check',
    brokers: [kafkaBrokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 && cluster.controller !== null;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export function assertJava(): void {
  if (!existsSync('/usr/bin/java') && !process.env.JAVA_HOME) {
    throw new ClusterError('CLUSTER_MISSING_TOOL', component, 'java (JDK 17) is not installed');
  }
}
