// The independent reader of delivery tests: Apache Kafka's own Java consumer (kafka-clients of
// the version the local cluster runs, from its cached libs/ folder), not kafkajs, so a bug the
// runtime and a kafkajs-based reader share (the read_committed filter we patch into kafkajs,
// say) cannot hide a lost or duplicated record. Compiled with `javac` once per Kafka version and
// source into the cache.
//
// It assigns every partition of the topic (no group), takes the end offsets as of its start
// under the chosen isolation level (read_committed: the last stable offset, so records of open
// transactions are neither read nor waited for), and reads from the beginning up to them. A
// caller reads after the writer is done, so "up to the end offsets at start" is everything.
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TributaryError } from '../../runtime/src/errors.ts';
import { cacheRoot, clusterPaths, versions } from '../cluster/paths.ts';

const SOURCE = `import java.time.Duration;
import java.util.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class TopicReader {
  static String b64(byte[] b) { return b == null ? "-" : Base64.getEncoder().encodeToString(b); }
  public static void main(String[] a) throws Exception {
    String brokers = a[0], topic = a[1], isolation = a[2];
    long deadline = System.currentTimeMillis() + Long.parseLong(a[3]);
    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cp)) {
      List<TopicPartition> all = new ArrayList<>();
      for (PartitionInfo p : c.partitionsFor(topic, Duration.ofSeconds(30))) all.add(new TopicPartition(topic, p.partition()));
      Map<TopicPartition, Long> ends = c.endOffsets(all, Duration.ofSeconds(30));
      c.assign(all);
      c.seekToBeginning(all);
      Set<TopicPartition> open = new HashSet<>();
      for (TopicPartition tp : all) if (ends.get(tp) > 0) open.add(tp);
      // Written as read (buffered), not gathered: a topic of millions of records outgrows one string.
      java.io.PrintStream out = new java.io.PrintStream(new java.io.BufferedOutputStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), 1 << 16), false, "UTF-8");
      while (!open.isEmpty()) {
        if (System.currentTimeMillis() > deadline) {
          System.err.println("timed out with partitions unread: " + open);
          System.exit(3);
        }
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
          if (r.offset() >= ends.get(new TopicPartition(topic, r.partition()))) continue;
          StringBuilder h = new StringBuilder();
          for (Header x : r.headers()) h.append(h.length() == 0 ? "" : ",").append(b64(x.key().getBytes("UTF-8"))).append(':').append(b64(x.value()));
          out.print(r.partition() + "\\t" + r.offset() + "\\t" + b64(r.key()) + "\\t" + b64(r.value()) + "\\t" + (h.length() == 0 ? "-" : h) + "\\n");
        }
        open.removeIf(tp -> c.position(tp) >= ends.get(tp));
      }
      out.flush();
    }
  }
}
`;

export interface JavaReadRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  /** The key's exact bytes (null for a null key). */
  readonly keyBytes: Buffer | null;
  readonly value: string;
  /** Header values as UTF-8 text by name (a repeated name: its last value; a null value: ''). */
  readonly headers: Readonly<Record<string, string>>;
  /** Every header in record order, its value's exact bytes (null for a null value). */
  readonly headerList: readonly { readonly key: string; readonly value: Buffer | null }[];
}

function compiled(): string {
  const libs = join(clusterPaths().kafkaLib, '*');
  const key = createHash('sha256').update(SOURCE).digest('hex').slice(0, 12);
  const classDir = join(cacheRoot(), `java-topic-reader-${versions.kafka}-${key}`);
  if (!existsSync(join(classDir, 'TopicReader.class'))) {
    const tmp = `${classDir}.partial-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'TopicReader.java'), SOURCE);
    execFileSync('javac', ['-cp', libs, '-d', tmp, join(tmp, 'TopicReader.java')], { stdio: 'inherit' });
    // Renamed only when complete, so an interrupted compile is never mistaken for a cache hit.
    // Two lanes may compile at once: whoever renames second finds the other's complete copy.
    try {
      renameSync(tmp, classDir);
    } catch (err) {
      if (!existsSync(join(classDir, 'TopicReader.class'))) throw err;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return `${classDir}:${libs}`;
}

const text = (b64: string): string | null => (b64 === '-' ? null : Buffer.from(b64, 'base64').toString('utf8'));

/** Every record of `topic` up to its end offsets as of the call, read by Kafka's Java consumer. */
export async function readTopicWithJava(
  brokers: string,
  topic: string,
  isolation: 'read_committed' | 'read_uncommitted',
  timeoutMs = 120_000,
): Promise<JavaReadRecord[]> {
  const out: JavaReadRecord[] = [];
  await forEachRecordWithJava(brokers, topic, isolation, timeoutMs, (r) => out.push(r));
  return out;
}

/**
 * As readTopicWithJava, each record handed to `onRecord` as it is read, nothing kept: for topics
 * of millions of records. Resolves with how many were read.
 */
export function forEachRecordWithJava(
  brokers: string,
  topic: string,
  isolation: 'read_committed' | 'read_uncommitted',
  timeoutMs: number,
  onRecord: (r: JavaReadRecord) => void,
): Promise<number> {
  const classpath = compiled();
  const args = ['-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', classpath, 'TopicReader'];
  const child = spawn('java', [...args, brokers, topic, isolation, String(timeoutMs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 30_000);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 64 * 1024) stderr += d;
  });
  let n = 0;
  let failed: unknown;
  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line === '' || failed !== undefined) return;
    try {
      onRecord(parseLine(line));
      n++;
    } catch (e) {
      failed = e;
      child.kill('SIGKILL');
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', (e) => reject(e));
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      if (failed !== undefined) reject(failed as Error);
      else if (code !== 0)
        reject(
          new TributaryError(
            'TRIB_CONNECTOR_FAILED',
            `java reader of ${topic} (${isolation}) failed (${signal ?? `exit ${code}`}): ${stderr}`,
          ),
        );
      else resolve(n);
    });
  });
}

/** One line of TopicReader's output: partition, offset, key, value, headers (base64, `-` for null). */
function parseLine(line: string): JavaReadRecord {
  const [p, o, k, v, h] = line.split('\t') as [string, string, string, string, string];
  const headers: Record<string, string> = {};
  const headerList: { key: string; value: Buffer | null }[] = [];
  if (h !== '-')
    for (const pair of h.split(',')) {
      const [hk, hv] = pair.split(':') as [string, string];
      headers[text(hk) ?? ''] = text(hv) ?? '';
      headerList.push({ key: text(hk) ?? '', value: hv === '-' ? null : Buffer.from(hv, 'base64') });
    }
  return {
    partition: Number(p),
    offset: Number(o),
    key: text(k),
    keyBytes: k === '-' ? null : Buffer.from(k, 'base64'),
    value: text(v) ?? '',
    headers,
    headerList,
  };
}

/** Missing and duplicated records of `got` against `expected` (multisets of values). */
export function deliveryDiff(
  expected: readonly string[],
  got: readonly string[],
): { missing: string[]; duplicated: string[]; unexpected: string[] } {
  const want = new Map<string, number>();
  for (const x of expected) want.set(x, (want.get(x) ?? 0) + 1);
  const seen = new Map<string, number>();
  for (const x of got) seen.set(x, (seen.get(x) ?? 0) + 1);
  const missing: string[] = [];
  const duplicated: string[] = [];
  const unexpected: string[] = [];
  for (const [x, n] of want) for (let i = seen.get(x) ?? 0; i < n; i++) missing.push(x);
  for (const [x, n] of seen) {
    const w = want.get(x) ?? 0;
    if (w === 0) for (let i = 0; i < n; i++) unexpected.push(x);
    else for (let i = w; i < n; i++) duplicated.push(x);
  }
  return { missing, duplicated, unexpected };
}
