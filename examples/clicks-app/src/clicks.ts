// The clicks job's pieces, shared by both versions of the job module: where it reads and
// writes (from the environment the StreamJob's podTemplate gives the slots), the input and
// output types, and the per-user, per-second window aggregate.
import {
  TributaryError,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  kafka,
  kafkaSink,
  type StreamEnvironment,
} from 'tributary';
import type { AggregateFunction, DataStream } from 'tributary';

export interface Click {
  user: string;
  amount: number;
  ts: number;
}

export interface UserSecond {
  user: string;
  window_start: number;
  n: number;
  amount: number;
}

function env(name: string): string {
  const v = process.env[name];
  if (!v)
    throw new TributaryError(
      'TRIB_JOB_MODULE',
      `environment variable ${name} is required (set it in the StreamJob's podTemplate.env)`,
    );
  return v;
}

const brokers = () => env('CLICKS_BROKERS');

export function clicks(e: StreamEnvironment): DataStream<Click> {
  return e.fromSource(
    kafka<Click>({
      brokers: brokers(),
      topic: env('CLICKS_INPUT'),
      groupId: env('CLICKS_GROUP'),
      startFrom: 'earliest',
    }),
    { name: 'in', watermarks: WatermarkStrategy.forBoundedOutOfOrderness<Click>('200ms').withTimestampField('ts') },
  );
}

const countAndSum: AggregateFunction<Click, { n: number; amount: number }, { n: number; amount: number }> = {
  create: () => ({ n: 0, amount: 0 }),
  add: (acc, c) => ({ n: acc.n + 1, amount: acc.amount + c.amount }),
  merge: (a, b) => ({ n: a.n + b.n, amount: a.amount + b.amount }),
  result: (acc) => acc,
};

/**
 * Per user and second: clicks and amount, written exactly once. The window step keeps its name
 * ('per-second') in every version: state is matched to steps by name when a savepoint is restored.
 */
export function perUserSecond(input: DataStream<Click>): void {
  input
    .keyBy('user', 'by-user')
    .window(TumblingEventTimeWindows.of('1s'))
    .aggregate(countAndSum, (r, user, w): UserSecond => ({ user, window_start: w.start, ...r }), 'per-second')
    .sinkTo(
      kafkaSink({ brokers: brokers(), topic: env('CLICKS_OUTPUT'), key: 'user', delivery: 'exactly-once' }),
      'out',
    );
}
