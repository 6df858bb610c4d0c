// TEST-ONLY job module: the clicks example's job over a bounded read of its input topic (Kafka
// source with `bounded: 'latest'`: it ends at the end offsets seen at start). Every window of
// the input is fired at the end of input; each slot then takes part in the final checkpoint,
// which commits the exactly-once output, and ends FINISHED (application mode's bounded path).
import { StreamEnvironment, WatermarkStrategy, kafka } from 'tributary';
import { perUserSecond, type Click } from '../../../../../examples/clicks-app/src/clicks.ts';

const need = (name: string): string => process.env[name] ?? '';

const env = new StreamEnvironment();
perUserSecond(
  env.fromSource(
    kafka<Click>({
      brokers: need('CLICKS_BROKERS'),
      topic: need('CLICKS_INPUT'),
      groupId: need('CLICKS_GROUP'),
      startFrom: 'earliest',
      bounded: 'latest',
    }),
    { name: 'in', watermarks: WatermarkStrategy.forBoundedOutOfOrderness<Click>('200ms').withTimestampField('ts') },
  ),
);
await env.execute();
