// A Kafka source slot's fetch thread (entry of the worker fetch-thread.ts starts): the
// slot's kafkajs consumer, so fetching, decompressing and decoding record batches leave the
// slot's thread as Flink's fetcher thread leaves its task thread. Each fetch goes to the slot
// packed in transferred buffers; at most `inFlight` of them wait for the slot's acknowledgement
// (given when its queue has room), so a slow slot holds fetching back as it does on one thread.
import { parentPort, workerData } from 'node:worker_threads';
import { assertReadCommittedFix } from './kafkajs-read-committed.ts'; // before kafkajs: fixes its read_committed filter
import type { LogEntry } from 'kafkajs';
import { createKafka } from './client.ts';
import { ConsumerLoop } from './consumer-loop.ts';
import { packedTransferList, packRecords } from './fetched-records.ts';
import { crossedError, type FetchWorkerData, type FromFetchThread, type ToFetchThread } from './fetch-protocol.ts';

const port = parentPort as NonNullable<typeof parentPort>;
const data = workerData as FetchWorkerData;

function post(m: FromFetchThread, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

/** kafkajs's log lines go to the slot's logger; a field that cannot be cloned leaves only the message. */
function postLog(entry: LogEntry): void {
  try {
    post({ kind: 'log', entry });
  } catch {
    post({ kind: 'log', entry: { ...entry, log: { ...entry.log, message: entry.log.message } as LogEntry['log'] } });
  }
}

let unacked = 0;
let roomWaiters: (() => void)[] = [];
const wakeRoom = (): void => {
  const w = roomWaiters;
  roomWaiters = [];
  for (const f of w) f();
};

const bounds = data.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: data.requestTimeoutMs };
const loop = new ConsumerLoop(createKafka(data.loop.brokers, data.clientId, postLog, bounds), data.loop, {
  fetched(partition, highWatermark, lastOffset, records) {
    const packed = records.length > 0 ? packRecords(records, data.keepHeaders) : null;
    post(
      { kind: 'fetched', partition, highWatermark, lastOffset, records: packed },
      packed ? packedTransferList(packed) : [],
    );
    unacked++; // counted once posted: a post that throws fails the batch, not the flow control
  },
  room: () => (unacked < data.inFlight ? undefined : new Promise<void>((r) => roomWaiters.push(r))),
  failed: (e) => post({ kind: 'failed', error: crossedError(e) }),
  unreachable: (sinceMs, e) => post({ kind: 'unreachable', sinceMs, error: crossedError(e) }),
  reachable: () => post({ kind: 'reachable' }),
  stopping: wakeRoom,
});

port.on('message', (m: ToFetchThread) => {
  if (m.kind === 'ack') {
    unacked--;
    wakeRoom();
  } else if (m.kind === 'pause') loop.setPaused(m.partitions);
  else
    void loop.stop().then(
      () => post({ kind: 'stopped' }),
      (e: unknown) => {
        post({ kind: 'failed', error: crossedError(e) });
        post({ kind: 'stopped' });
      },
    );
});

try {
  assertReadCommittedFix('kafka source fetch thread');
  await loop.start();
  post({ kind: 'started' });
} catch (e) {
  post({ kind: 'start-failed', error: crossedError(e) });
}
