// Version 1 of the clicks job module: Kafka clicks → per user and second → Kafka, exactly once.
// Run it locally with `node src/clicks-job.ts` (the environment variables of clicks.ts set);
// in a StreamJob's slots (spec.job.module), execute() hands the job to the slot instead.
import { StreamEnvironment } from 'tributary';
import { clicks, perUserSecond } from './clicks.ts';

const env = new StreamEnvironment();
perUserSecond(clicks(env));
await env.execute({ parallelism: 2 });
