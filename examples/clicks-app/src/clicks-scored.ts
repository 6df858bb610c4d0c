// The clicks job with an enrichment call: every click is scored by an HTTP service
// (CLICKS_SCORE_URL, e.g. a fraud model behind a REST endpoint) and written with its score to
// Kafka, exactly once. The call is an async step with a per-slot capacity: a slot has at most
// CLICKS_SCORE_CAPACITY calls in flight (default 8), so one slot scores at most capacity ÷ the
// service's latency clicks per second however many cores it has. Its throughput is bounded by
// that, not by CPU: the job the autoscaler's example sizes (docs/operator/autoscaler.md).
import { StreamEnvironment, TributaryError, kafkaSink } from 'tributary';
import { clicks, type Click } from './clicks.ts';

export interface ScoredClick extends Click {
  score: number;
}

const url = process.env['CLICKS_SCORE_URL'];
if (!url)
  throw new TributaryError(
    'TRIB_JOB_MODULE',
    "environment variable CLICKS_SCORE_URL is required (set it in the StreamJob's podTemplate.env)",
  );
const capacity = Number(process.env['CLICKS_SCORE_CAPACITY'] ?? 8);

async function score(c: Click): Promise<ScoredClick> {
  const res = await fetch(`${url}?user=${encodeURIComponent(c.user)}`);
  if (!res.ok) throw new TributaryError('TRIB_JOB_MODULE', `scoring service ${url} answered ${res.status}`);
  const body = (await res.json()) as { score: number };
  return { ...c, score: body.score };
}

const env = new StreamEnvironment();
clicks(env)
  .mapAsync(score, { capacity, timeout: '10s', name: 'score' })
  .sinkTo(
    kafkaSink({
      brokers: process.env['CLICKS_BROKERS'] ?? '',
      topic: process.env['CLICKS_OUTPUT'] ?? '',
      key: 'user',
      delivery: 'exactly-once',
    }),
    'out',
  );
await env.execute({ parallelism: 1 });
