import { join } from 'node:path';
import type { ClusterPaths } from '../paths.ts';
import { host, ports } from '../ports.ts';

/**
 * Generated configuration of the local Druid: the smallest set of processes that runs a Kafka
 * supervisor and answers SQL, sized for a shared 2-core machine. Every process reads
 * `conf/_common/common.runtime.properties` and `conf/<service>/runtime.properties` from its
 * classpath, as Druid's own distribution lays them out.
 */

export type DruidService = 'coordinator' | 'broker' | 'historical' | 'indexer' | 'router';

/** Start order; `down` stops them in reverse. ZooKeeper comes before all of them. */
export const druidServices: readonly DruidService[] = ['coordinator', 'broker', 'historical', 'indexer', 'router'];

export const druidPort: Record<DruidService, number> = {
  coordinator: ports.druidCoordinator,
  broker: ports.druidBroker,
  historical: ports.druidHistorical,
  indexer: ports.druidIndexer,
  router: ports.druidRouter,
};

interface Sizing {
  readonly heap: string;
  /** MaxDirectMemorySize; must cover buffer.sizeBytes × (numThreads + numMergeBuffers + 1) where queries run. */
  readonly direct: string;
}

/**
 * Heaps a few times Druid's nano-quickstart floor: enough for a handful of test datasources,
 * small enough that all JVMs together stay near 2.5 GB RSS.
 */
const sizing: Record<DruidService, Sizing> = {
  coordinator: { heap: '256m', direct: '64m' },
  broker: { heap: '256m', direct: '128m' },
  historical: { heap: '256m', direct: '128m' },
  indexer: { heap: '768m', direct: '128m' },
  router: { heap: '128m', direct: '64m' },
};

/** 32 MiB × (1 processing thread + 1 merge buffer + 1) = 96 MiB, under every 128m direct limit above. */
const processingBuffer = 32 * 1024 * 1024;

export const druidZookeeperHeap = '64m';

export function druidDirs(paths: ClusterPaths) {
  const d = paths.druidData;
  return {
    conf: join(d, 'conf'),
    zookeeper: join(d, 'zk'),
    metadata: join(d, 'metadata.db'),
    deepStorage: join(d, 'deep-storage'),
    segmentCache: join(d, 'segment-cache'),
    taskLogs: join(d, 'task-logs'),
    tasks: join(d, 'tasks'),
    tmp: join(d, 'tmp'),
  };
}

export function zookeeperConfig(paths: ClusterPaths): string {
  return [
    `dataDir=${druidDirs(paths).zookeeper}`,
    `clientPort=${ports.druidZookeeper}`,
    `clientPortAddress=${host}`,
    'tickTime=2000',
    'maxClientCnxns=0',
    // The embedded admin HTTP server would take port 8080 on every interface.
    'admin.enableServer=false',
    '4lw.commands.whitelist=ruok,srvr',
    '',
  ].join('\n');
}

export function commonProperties(paths: ClusterPaths): string {
  const dirs = druidDirs(paths);
  return props({
    // Extensions come from the one flat classpath (the Kafka indexing extension is a jar on it).
    'druid.extensions.loadList': '[]',
    'druid.extensions.searchCurrentClassloader': 'true',
    // Loopback only: announce and bind 127.0.0.1.
    'druid.host': host,
    'druid.bindOnHost': 'true',
    'druid.zk.service.host': `${host}:${ports.druidZookeeper}`,
    'druid.zk.paths.base': '/druid',
    'druid.metadata.storage.type': 'derby',
    'druid.metadata.storage.connector.connectURI': `jdbc:derby://${host}:${ports.druidDerby}/${dirs.metadata};create=true`,
    'druid.metadata.storage.connector.host': host,
    'druid.metadata.storage.connector.port': String(ports.druidDerby),
    'druid.storage.type': 'local',
    'druid.storage.storageDirectory': dirs.deepStorage,
    'druid.indexer.logs.type': 'file',
    'druid.indexer.logs.directory': dirs.taskLogs,
    'druid.selectors.indexing.serviceName': 'druid/overlord',
    'druid.selectors.coordinator.serviceName': 'druid/coordinator',
    'druid.emitter': 'noop',
    'druid.monitoring.monitors': '[]',
    'druid.startup.logging.logProperties': 'false',
    'druid.sql.enable': 'true',
    'druid.lookup.enableLookupSyncOnStartup': 'false',
    'druid.server.http.numThreads': '12',
    'druid.global.http.numConnections': '4',
    'druid.processing.numThreads': '1',
    'druid.processing.numMergeBuffers': '1',
    'druid.processing.buffer.sizeBytes': String(processingBuffer),
    'druid.processing.tmpDir': dirs.tmp,
  });
}

export function serviceProperties(service: DruidService, paths: ClusterPaths): string {
  const dirs = druidDirs(paths);
  const base = { 'druid.service': `druid/${service}`, 'druid.plaintextPort': String(druidPort[service]) };
  switch (service) {
    case 'coordinator':
      return props({
        ...base,
        // The Overlord runs inside the Coordinator: one JVM fewer, same APIs.
        'druid.coordinator.asOverlord.enabled': 'true',
        'druid.coordinator.asOverlord.overlordService': 'druid/overlord',
        'druid.coordinator.startDelay': 'PT5S',
        'druid.coordinator.period': 'PT5S',
        'druid.manager.segments.pollDuration': 'PT5S',
        'druid.indexer.queue.startDelay': 'PT1S',
        'druid.indexer.runner.type': 'remote',
        'druid.indexer.storage.type': 'metadata',
      });
    case 'broker':
      return props({
        ...base,
        'druid.broker.http.numConnections': '4',
        'druid.server.http.defaultQueryTimeout': '60000',
        // SQL refuses queries until the broker knows every datasource's schema: readiness implies it.
        'druid.sql.planner.awaitInitializationOnStart': 'true',
      });
    case 'historical':
      return props({
        ...base,
        'druid.server.maxSize': String(2 * 1024 ** 3),
        'druid.segmentCache.locations': JSON.stringify([{ path: dirs.segmentCache, maxSize: 2 * 1024 ** 3 }]),
        'druid.segmentCache.numLoadingThreads': '1',
      });
    case 'indexer':
      return props({
        ...base,
        // Tasks run as threads of this JVM: no peon forks on a 2-core machine.
        'druid.worker.capacity': '4',
        'druid.indexer.task.baseTaskDir': dirs.tasks,
        'druid.indexer.task.restoreTasksOnRestart': 'false',
        'druid.server.maxSize': '0',
      });
    case 'router':
      return props({
        ...base,
        // One URL for users: SQL goes to the broker, /druid/indexer and /druid/coordinator to the
        // coordinator-overlord.
        'druid.router.managementProxy.enabled': 'true',
        'druid.router.defaultBrokerServiceName': 'druid/broker',
        'druid.router.coordinatorServiceName': 'druid/coordinator',
        'druid.router.http.numConnections': '4',
      });
  }
}

/** Console logging at INFO: the process's stdout is the component log file. */
export const log4j2Xml = `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <Console name="Console" target="SYSTEM_OUT">
      <PatternLayout pattern="%d{ISO8601} %p [%t] %c - %m%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="info"><AppenderRef ref="Console"/></Root>
    <Logger name="org.apache.druid.server.coordinator" level="warn" additivity="false"><AppenderRef ref="Console"/></Logger>
    <Logger name="org.apache.kafka" level="warn" additivity="false"><AppenderRef ref="Console"/></Logger>
    <Logger name="org.apache.zookeeper" level="warn" additivity="false"><AppenderRef ref="Console"/></Logger>
  </Loggers>
</Configuration>
`;

/** JDK 17 flags from Druid's Java docs: its memory and NIO code reaches into JDK internals. */
const jdk17Opens = [
  '--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED',
  '--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED',
  '--add-opens=java.base/java.io=ALL-UNNAMED',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED',
];

/** Flags every Druid-classpath JVM shares: small footprint over peak speed (test traffic is tiny). */
function jvmBase(paths: ClusterPaths, heap: string, direct: string): string[] {
  return [
    `-Xms${heap}`,
    `-Xmx${heap}`,
    `-XX:MaxDirectMemorySize=${direct}`,
    // Serial GC: no parallel GC threads or remembered sets, fitting for heaps this small.
    '-XX:+UseSerialGC',
    // C1 only: roughly halves JIT CPU during the start of five JVMs on two cores.
    '-XX:TieredStopAtLevel=1',
    '-XX:ReservedCodeCacheSize=64m',
    '-XX:+ExitOnOutOfMemoryError',
    '-Duser.timezone=UTC',
    '-Dfile.encoding=UTF-8',
    `-Djava.io.tmpdir=${druidDirs(paths).tmp}`,
    '-Djava.net.preferIPv4Stack=true',
    '-Djava.util.logging.manager=org.apache.logging.log4j.jul.LogManager',
    `-Dlog4j.configurationFile=${join(druidDirs(paths).conf, 'log4j2.xml')}`,
    '-Dlog4j.shutdownCallbackRegistry=org.apache.druid.common.config.Log4jShutdown',
    '-Dlog4j.shutdownHookEnabled=true',
    ...jdk17Opens,
  ];
}

export function druidJvmArgs(service: DruidService, paths: ClusterPaths): string[] {
  const { conf } = druidDirs(paths);
  const { heap, direct } = sizing[service];
  return [
    ...jvmBase(paths, heap, direct),
    '-cp',
    [join(conf, '_common'), join(conf, service), join(paths.druidLib, '*')].join(':'),
    'org.apache.druid.cli.Main',
    'server',
    service,
  ];
}

export function zookeeperJvmArgs(paths: ClusterPaths): string[] {
  const { conf } = druidDirs(paths);
  return [
    ...jvmBase(paths, druidZookeeperHeap, '16m'),
    '-cp',
    join(paths.druidLib, '*'),
    'org.apache.zookeeper.server.ZooKeeperServerMain',
    join(conf, 'zoo.cfg'),
  ];
}

function props(entries: Record<string, string>): string {
  return (
    Object.entries(entries)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n'
  );
}
