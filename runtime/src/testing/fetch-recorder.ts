// A FetchHandler for tests of a Kafka source's consumer loop, on either thread: it records the
// offsets each partition hands over (checking each value is the {p, i} the tests write), and
// gives room only while open. And `until`, polling a condition.
import { expect } from 'vitest';
import type { Kafka } from 'kafkajs';
import type { FetchHandler } from '../connectors/kafka/consumer-loop.ts';
import { TributaryError } from '../errors.ts';

/** A handler that records what arrives and gives room only while `open`. */
export function recorder() {
  const got = new Map<number, bigint[]>();
  const failures: unknown[] = [];
  let fetches = 0;
  let open = true;
  let waiters: (() => void)[] = [];
  const handler: FetchHandler = {
    fetched(partition, _hw, _last, records) {
      fetches++;
      const list = got.get(partition) ?? [];
      for (let i = 0; i < records.length; i++) {
        list.push(records.offset(i));
        expect(JSON.parse((records.value(i) as Buffer).toString())).toEqual({
          p: partition,
          i: Number(records.offset(i)),
        });
      }
      got.set(partition, list);
    },
    room: () => (open ? undefined : new Promise<void>((r) => waiters.push(r))),
    failed: (e) => failures.push(e),
    stopping: () => setRoom(true),
  };
  function setRoom(o: boolean): void {
    open = o;
    if (!o) return;
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  }
  return { handler, got, failures, setRoom, fetches: () => fetches };
}

/** Resolves once `what()` holds (asked every 20 ms); rejects after `ms`. */
export async function until(what: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; !(await what());) {
    if (Date.now() > end) throw new TributaryError('TRIB_INVARIANT', `condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Writes records {p, i} for i in [from, to) into partition p of topic `on`. */
export async function writeNumbered(kafka: Kafka, on: string, p: number, from: number, to: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  for (let i = from; i < to; i += 500)
    await producer.send({
      topic: on,
      messages: Array.from({ length: Math.min(500, to - i) }, (_, j) => ({
        partition: p,
        value: JSON.stringify({ p, i: i + j }),
      })),
    });
  await producer.disconnect();
}
