// TEST-ONLY job module: the clicks example's job with its window step renamed ('per-second' →
// 'per-user-second'). Restored from a savepoint of the example, the window state has no step
// to go to: the restore is refused (TRIB_RESTORE_NON_RESTORED_STATE, naming 'per-second').
import { StreamEnvironment, TumblingEventTimeWindows, kafkaSink } from 'tributary';
import { clicks } from '../../../../../examples/clicks-app/src/clicks.ts';

const env = new StreamEnvironment();
clicks(env)
  .keyBy('user', 'by-user')
  .window(TumblingEventTimeWindows.of('1s'))
  .reduce((a, b) => ({ ...a, amount: a.amount + b.amount }), 'per-user-second')
  .sinkTo(
    kafkaSink({ brokers: process.env['CLICKS_BROKERS'] ?? '', topic: process.env['CLICKS_OUTPUT'] ?? '' }),
    'out',
  );
await env.execute();
