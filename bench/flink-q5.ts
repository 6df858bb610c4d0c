// The JVM peer of q5 in threads.ts: the same job on Apache Flink's own DataStream API, so the
// bench can say what Flink gets from a second core here (its -p 2 ÷ -p 1, measured in the same
// command as ours). Flink (flink-streaming-java + flink-clients of FLINK_VERSION, and
// slf4j-simple at warn) is fetched by Maven into the cache once per version; the job below is
// written here and compiled with `javac` once per Flink version and source. It runs in one JVM
// as users run a job from their IDE: StreamExecutionEnvironment.getExecutionEnvironment(), a local
// MiniCluster with as many task slots as the parallelism, STREAMING mode, event time, object
// reuse on, no checkpointing (a bounded job with checkpoints waits for a final checkpoint at its
// end, up to an interval), the heap state backend, the JVM's defaults otherwise (G1, ¼ of RAM).
//
// The job, as threads.ts's q5: nexmark datagen of seed 3 → event_type == "bid" → keyBy auction →
// sliding 10 s / 2 s event-time windows, bounded out-of-orderness 1 s, no allowed lateness →
// count → one JSON line {"auction","window_start","window_end","bids"} per window → a sink that
// discards them and counts rows (an accumulator). Invariants that make its output ours:
//   * events: record i is generated from (seed, i) alone by a faithful port of random.ts and of the
//     bid branch of nexmark.ts (the same draws in the same order: auction, bidder, channel, price,
//     url; persons and auctions keep only their type and time, since q5 drops them), at event time
//     startTime + floor(i · 1000 / eventRate) in the same double arithmetic;
//   * split: record i is read by source subtask i mod p, as our datagen splits it, so both
//     engines see the same in-order stream per slot and the same event-time skew between slots
//     (a plain fromSequence would hand each subtask a contiguous half: 100 s of event time apart);
//   * watermarks come from the source over every event (bids and the rest), as ours do.
// At 2,000,000 events it emits our 1,792,521 rows, byte for byte (sorted), at -p 1 and -p 2.
// It prints one line: {"rows","bytes","jobMs","startupMs","executeMs","netRuntimeMs"}, where
// jobMs runs from the last subtask's open() (the job running everywhere) to the last sink
// subtask's finish() (its last row out) — the span threads.ts times for ours — startupMs from JVM
// start to that open(), executeMs is env.execute() and netRuntimeMs Flink's own job runtime.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TributaryError } from '../runtime/src/errors.ts';
import { cacheRoot } from '../test/cluster/paths.ts';
import { measureChild } from './kafka-measure.ts';

// 1.20 (the LTS line) runs on Java 17 as it is: no --add-opens needed, since the job's types
// (a POJO, Long, String) never reach Kryo's reflection into JDK internals.
export const FLINK_VERSION = '1.20.5';

// Flink 1.20 logs through slf4j 1.7, hence a 1.7 binding; runtime scope is what a job needs.
const POM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>tributary.bench</groupId>
  <artifactId>flink-q5-deps</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.flink</groupId><artifactId>flink-streaming-java</artifactId><version>${FLINK_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.flink</groupId><artifactId>flink-clients</artifactId><version>${FLINK_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>1.7.36</version>
    </dependency>
  </dependencies>
</project>
`;

// String.raw: the Java keeps its backslashes (JSON quotes); it has no `${`.
const SOURCE = String.raw`import java.io.*;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.*;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.eventtime.*;
import org.apache.flink.api.common.functions.*;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.*;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.RichSinkFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.SlidingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

// Args: count parallelism [outDir].
public class FlinkQ5 {
  static final long START = 1_700_000_000_000L;
  static final double MS_PER_EVENT = 1000.0 / 10_000;
  static final int SEED = 3;
  static final int FIRST_ID = 1000;
  static final String[] CHANNELS = {"Google", "Facebook", "Baidu", "Apple"};

  // One JVM: the functions run on this process's task threads (their classes come from the
  // application class loader, there being no job jar), so they share these with main.
  static final AtomicLong lastOpen = new AtomicLong();
  static final AtomicLong lastFinish = new AtomicLong();

  static void opened() {
    lastOpen.accumulateAndGet(System.currentTimeMillis(), Math::max);
  }

  /** random.ts: int arithmetic wraps as Math.imul and |0 do; >>> is unsigned in both. */
  static final class RecordRandom {
    int state;

    void reset(int seed, long index) {
      int h = seed ^ ((int) index * 0x9e3779b1);
      h = (h ^ (h >>> 16)) * 0x85ebca6b;
      h = (h ^ (h >>> 13)) * 0xc2b2ae35;
      state = h ^ (h >>> 16);
      state ^= (int) (index >>> 32);
    }

    double next() {
      int t = state = state + 0x6d2b79f5;
      t = (t ^ (t >>> 15)) * (t | 1);
      t ^= t + (t ^ (t >>> 7)) * (t | 61);
      return ((t ^ (t >>> 14)) & 0xffffffffL) / 4294967296.0;
    }

    long between(long min, long max) {
      return min + (long) Math.floor(next() * (double) (max - min + 1));
    }
  }

  /** A nexmark event (a POJO, so Flink's own serializer); persons and auctions: type and time. */
  public static final class Event {
    public String eventType;
    public long ts;
    public long auction;
    public long bidder;
    public double price;
    public String channel;
    public String url;
  }

  static long timestampOf(long i) {
    return START + (long) Math.floor(i * MS_PER_EVENT);
  }

  /** Split k is the sequence [k*m, k*m + n_k); its value j stands for record k + (j - k*m)*p. */
  static final class Interleaved extends NumberSequenceSource {
    final long count, m;
    final int p;

    Interleaved(long count, int p) {
      super(0, Math.max(1, (count + p - 1) / p) * p - 1);
      this.count = count;
      this.p = p;
      this.m = Math.max(1, (count + p - 1) / p);
    }

    long indexOf(long j) {
      return j / m + (j % m) * p;
    }

    @Override
    protected List<NumberSequenceSplit> splitNumberRange(long from, long to, int numSplits) {
      if (numSplits != p) throw new IllegalStateException("source parallelism " + numSplits + " != " + p);
      List<NumberSequenceSplit> splits = new ArrayList<>();
      for (int k = 0; k < p; k++) {
        long n = (count - k + p - 1) / p;
        if (n > 0) splits.add(new NumberSequenceSplit(String.valueOf(k), k * m, k * m + n - 1));
      }
      return splits;
    }
  }

  static final class TimestampOf implements SerializableTimestampAssigner<Long> {
    final Interleaved source;

    TimestampOf(Interleaved source) {
      this.source = source;
    }

    @Override
    public long extractTimestamp(Long j, long previous) {
      return timestampOf(source.indexOf(j));
    }
  }

  /** nexmark.ts's generate(): for bids the same draws in the same order. */
  static final class Generate extends RichMapFunction<Long, Event> {
    final Interleaved source;
    transient RecordRandom rnd;

    Generate(Interleaved source) {
      this.source = source;
    }

    @Override
    public void open(OpenContext ctx) {
      rnd = new RecordRandom();
      opened();
    }

    @Override
    public Event map(Long j) {
      long i = source.indexOf(j);
      Event e = new Event();
      e.ts = timestampOf(i);
      int pos = (int) (i % 50); // 1 person, 3 auctions, 46 bids per 50 events
      if (pos < 4) {
        e.eventType = pos == 0 ? "person" : "auction";
        return e;
      }
      rnd.reset(SEED, i);
      long epoch = i / 50, persons = epoch + 1, auctions = epoch * 3 + 1;
      e.eventType = "bid";
      e.auction = rnd.between(0, 3) > 0 ? FIRST_ID + (auctions / 10) * 10 : FIRST_ID + rnd.between(0, auctions - 1);
      e.bidder = rnd.between(0, 3) > 0 ? FIRST_ID + (persons / 10) * 10 + 1 : FIRST_ID + rnd.between(0, persons - 1);
      e.channel = CHANNELS[(int) Math.floor(rnd.next() * CHANNELS.length)];
      e.price = Math.round(Math.pow(10, rnd.next() * 5) * 100) / 100.0;
      e.url = "https://www.nexmark.com/" + e.channel.toLowerCase() + "/item.htm?query=" + rnd.between(1, 99);
      return e;
    }
  }

  static final class IsBid implements FilterFunction<Event> {
    public boolean filter(Event e) {
      return "bid".equals(e.eventType);
    }
  }

  static final class ByAuction implements KeySelector<Event, Long> {
    public Long getKey(Event e) {
      return e.auction;
    }
  }

  static final class Count implements AggregateFunction<Event, Long, Long> {
    public Long createAccumulator() { return 0L; }
    public Long add(Event e, Long acc) { return acc + 1; }
    public Long getResult(Long acc) { return acc; }
    public Long merge(Long a, Long b) { return a + b; }
  }

  static final class ToJson extends ProcessWindowFunction<Long, String, Long, TimeWindow> {
    @Override
    public void open(OpenContext ctx) {
      opened();
    }

    @Override
    public void process(Long auction, Context ctx, Iterable<Long> counts, Collector<String> out) {
      TimeWindow w = ctx.window();
      out.collect("{\"auction\":" + auction + ",\"window_start\":" + w.getStart() + ",\"window_end\":"
          + w.getEnd() + ",\"bids\":" + counts.iterator().next() + "}");
    }
  }

  /** Discards rows (or writes them to outDir/part-N), counting rows and bytes. */
  @SuppressWarnings("deprecation") // SinkFunction: the sink API with accumulators in 1.20
  static final class CountingSink extends RichSinkFunction<String> {
    final String outDir;
    final LongCounter rows = new LongCounter(), bytes = new LongCounter();
    transient Writer file;

    CountingSink(String outDir) {
      this.outDir = outDir;
    }

    @Override
    public void open(OpenContext ctx) throws IOException {
      getRuntimeContext().addAccumulator("rows", rows);
      getRuntimeContext().addAccumulator("bytes", bytes);
      int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
      if (outDir != null) file = new BufferedWriter(new FileWriter(outDir + "/part-" + subtask));
      opened();
    }

    @Override
    public void invoke(String row, Context ctx) throws IOException {
      rows.add(1);
      bytes.add(row.length() + 1);
      if (file != null) file.write(row + "\n");
    }

    @Override
    public void finish() throws IOException {
      lastFinish.accumulateAndGet(System.currentTimeMillis(), Math::max);
      if (file != null) file.close();
    }
  }

  @SuppressWarnings("deprecation") // DataStream.addSink, for the SinkFunction above
  public static void main(String[] args) throws Exception {
    long count = Long.parseLong(args[0]);
    int p = Integer.parseInt(args[1]);
    Configuration conf = new Configuration();
    conf.set(CoreOptions.DEFAULT_PARALLELISM, p);
    conf.set(TaskManagerOptions.NUM_TASK_SLOTS, p);
    // Loopback only, should anything listen: the blob server binds jobmanager.bind-host (else
    // every interface), the REST endpoint rest.bind-address.
    conf.set(JobManagerOptions.BIND_HOST, "127.0.0.1");
    conf.set(TaskManagerOptions.BIND_HOST, "127.0.0.1");
    conf.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
    conf.set(RestOptions.ADDRESS, "127.0.0.1");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
    env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
    env.getConfig().enableObjectReuse();
    env.getConfig().disableGenericTypes(); // fail rather than fall back to Kryo for any of our types
    Interleaved source = new Interleaved(count, p);
    WatermarkStrategy<Long> watermarks = WatermarkStrategy.<Long>forBoundedOutOfOrderness(Duration.ofSeconds(1))
        .withTimestampAssigner(new TimestampOf(source));
    env.fromSource(source, watermarks, "nexmark")
        .map(new Generate(source))
        .filter(new IsBid())
        .keyBy(new ByAuction())
        .window(SlidingEventTimeWindows.of(Duration.ofSeconds(10), Duration.ofSeconds(2)))
        .aggregate(new Count(), new ToJson())
        .addSink(new CountingSink(args.length > 2 ? args[2] : null));
    long t0 = System.currentTimeMillis();
    JobExecutionResult r = env.execute("q5");
    long executeMs = System.currentTimeMillis() - t0;
    long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime();
    System.out.println("{\"rows\":" + r.getAccumulatorResult("rows") + ",\"bytes\":" + r.getAccumulatorResult("bytes")
        + ",\"jobMs\":" + (lastFinish.get() - lastOpen.get()) + ",\"startupMs\":" + (lastOpen.get() - jvmStart)
        + ",\"executeMs\":" + executeMs + ",\"netRuntimeMs\":" + r.getNetRuntime() + "}");
  }
}
`;

const hash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12);

/**
 * Builds `dir` with `build(tmp)` into `dir.partial`, renamed only when complete, so an interrupted
 * download or compile is never mistaken for a cache hit. The name carries version and content hash.
 */
function cached(dir: string, build: (tmp: string) => void): string {
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  build(tmp);
  renameSync(tmp, dir);
  return dir;
}

/** The folder of Flink's jars and their runtime dependencies (downloaded on first use). */
export function flinkLib(): string {
  const dir = cached(join(cacheRoot(), `bench-flink-lib-${FLINK_VERSION}-${hash(POM)}`), (tmp) => {
    writeFileSync(join(tmp, 'pom.xml'), POM);
    execFileSync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        join(tmp, 'pom.xml'),
        'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies',
        '-DincludeScope=runtime',
        `-DoutputDirectory=${join(tmp, 'lib')}`,
      ],
      { stdio: 'inherit' },
    );
  });
  return join(dir, 'lib');
}

/** The classpath running the compiled job (compiled on first use). */
export function flinkQ5Classpath(): string {
  const libs = join(flinkLib(), '*');
  const classDir = cached(join(cacheRoot(), `bench-flink-q5-${FLINK_VERSION}-${hash(SOURCE)}`), (tmp) => {
    writeFileSync(join(tmp, 'FlinkQ5.java'), SOURCE);
    execFileSync('javac', ['-cp', libs, '-d', tmp, join(tmp, 'FlinkQ5.java')], { stdio: 'inherit' });
  });
  return `${classDir}:${libs}`;
}

/**
 * `java` arguments for the job over `count` events at `parallelism`; with `outDir`, sink subtask N
 * also writes its rows to outDir/part-N (to diff against ours; leave it out when timing). Logs at
 * warn: a handful of start-up lines on stderr.
 */
export function flinkQ5Args(count: number, parallelism: number, outDir?: string): string[] {
  return [
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    '-cp',
    flinkQ5Classpath(),
    'FlinkQ5',
    String(count),
    String(parallelism),
    ...(outDir === undefined ? [] : [outDir]),
  ];
}

/**
 * Runs the job in its own JVM: the rows it emitted, jobMs (running everywhere → last row out),
 * the wall time of the whole process (JVM start-up and MiniCluster included) and its CPU seconds
 * (user + sys of java and its threads, from /usr/bin/time through kafka-measure.ts's measureChild).
 */
export async function flinkQ5(
  count: number,
  parallelism: number,
): Promise<{ rows: number; jobMs: number; wallMs: number; cpuS: number }> {
  const args = flinkQ5Args(count, parallelism); // compiles (and downloads) before the clock starts
  const run = await measureChild('java', args);
  const line = run.stdout.split('\n').find((l) => l.startsWith('{"rows"'));
  if (!line) throw new TributaryError('TRIB_JOB_FAILED', `flink q5 -p ${parallelism} printed no result line`);
  const r = JSON.parse(line) as { rows: number; jobMs: number };
  return { rows: r.rows, jobMs: r.jobMs, wallMs: run.wallMs, cpuS: run.cpuMs / 1000 };
}
