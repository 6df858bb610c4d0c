// The JVM peer of the Kafka bench: a small consume → produce pipe on Apache Kafka's own Java
// client (kafka-clients of the version the local cluster runs, from its cached libs/ folder),
// written here and compiled with `javac` once per Kafka version and source into the cache.
// Each of its N threads owns every N-th partition of the input (assign, no group: the same split
// a two-member group would settle on, without a rebalance in the timing), polls from the start
// to the end offsets seen at start, and sends each value's bytes unchanged (no JSON parse: the
// honest minimum of a pipe) to the output topic through its own producer: acks=all, idempotent.
// Tuned as a ceiling, to the batch sizes our side uses: polls of up to 2,000 records (the
// default is 500) and 256 KiB producer batches (default 16 KiB, which on this broker costs a
// produce request per ~80 records); the client's defaults otherwise (linger.ms 5, 5 requests in
// flight). It prints the records it copied.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot, clusterPaths, versions } from '../test/cluster/paths.ts';

const SOURCE = `import java.time.Duration;
import java.util.*;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.serialization.*;

public class KafkaPipe {
  public static void main(String[] a) throws Exception {
    String brokers = a[0], in = a[1], out = a[2];
    int threads = Integer.parseInt(a[3]);
    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    cp.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000");
    List<TopicPartition> all = new ArrayList<>();
    Map<TopicPartition, Long> ends;
    try (KafkaConsumer<byte[], byte[]> meta = new KafkaConsumer<>(cp)) {
      for (PartitionInfo p : meta.partitionsFor(in)) all.add(new TopicPartition(in, p.partition()));
      ends = meta.endOffsets(all);
    }
    AtomicLong copied = new AtomicLong();
    List<Thread> ts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      List<TopicPartition> mine = new ArrayList<>();
      for (TopicPartition tp : all) if (tp.partition() % threads == t && ends.get(tp) > 0) mine.add(tp);
      Thread th = new Thread(() -> {
        Properties pp = new Properties();
        pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        pp.put(ProducerConfig.ACKS_CONFIG, "all");
        pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        pp.put(ProducerConfig.BATCH_SIZE_CONFIG, "262144");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cp);
             KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(pp)) {
          c.assign(mine);
          c.seekToBeginning(mine);
          Set<TopicPartition> open = new HashSet<>(mine);
          long n = 0;
          while (!open.isEmpty()) {
            for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
              p.send(new ProducerRecord<>(out, r.value()));
              n++;
            }
            open.removeIf(tp -> c.position(tp) >= ends.get(tp));
          }
          p.flush();
          copied.addAndGet(n);
        }
      });
      th.setUncaughtExceptionHandler((x, e) -> { e.printStackTrace(); System.exit(1); });
      ts.add(th);
      th.start();
    }
    for (Thread th : ts) th.join();
    System.out.println(copied.get());
  }
}
`;

/** The compiled pipe's directory (compiled on first use) and the classpath to run it with. */
export function javaPipe(): { classDir: string; classpath: string } {
  const libs = join(clusterPaths().kafkaLib, '*');
  const key = createHash('sha256').update(SOURCE).digest('hex').slice(0, 12);
  const classDir = join(cacheRoot(), `bench-kafka-pipe-${versions.kafka}-${key}`);
  if (!existsSync(join(classDir, 'KafkaPipe.class'))) {
    const tmp = `${classDir}.partial`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'KafkaPipe.java'), SOURCE);
    execFileSync('javac', ['-cp', libs, '-d', tmp, join(tmp, 'KafkaPipe.java')], { stdio: 'inherit' });
    // Renamed only when complete, so an interrupted compile is never mistaken for a cache hit.
    renameSync(tmp, classDir);
  }
  return { classDir, classpath: `${classDir}:${libs}` };
}

/** `java` arguments running the pipe with `threads` threads; client logs at warn. */
export function javaPipeArgs(brokers: string, input: string, output: string, threads: number): string[] {
  const { classpath } = javaPipe();
  return [
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    '-cp',
    classpath,
    'KafkaPipe',
    brokers,
    input,
    output,
    String(threads),
  ];
}
