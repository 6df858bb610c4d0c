// kafkajs plumbing of the exactly-once Kafka sink (transactional-sink.ts): clients whose
// debug log is read for what kafkajs does not expose, and the internal EndTxn that commits
// the transactions of a restored checkpoint. Both internals are documented in
// docs/runtime/checkpoint-format.md; kafkajs 2.2.4 is frozen and they are checked at run time.
import './kafkajs-read-committed.ts'; // before kafkajs: fixes its read_committed filter
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient, logCreator } from 'kafkajs';
import type { Logger } from 'pino';
import { TributaryError } from '../../errors.ts';
import { brokerList, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_RETRIES, type ClientBounds } from './client.ts';
import { internalCluster } from './kafkajs-cluster.ts';
import { logKafkajsEntry } from './kafkajs-log.ts';

const { Kafka, logLevel } = kafkajs;

/**
 * kafkajs warns about this for every producer whose retries are finite (ours: the sink's
 * `retries`, default 5). It protects an idempotent producer that drops a batch after its
 * retries and goes on with later ones; ours are transactional: a send that fails after its
 * retries fails the job, the transaction is never committed (a recovery fences and aborts it)
 * and the records are replayed from the checkpoint. Unbounded retries would instead hang the
 * job on a dead broker. So: debug.
 */
const LIMITED_RETRIES = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

/**
 * kafkajs's connection layer logs every error response at error level, before the caller
 * decides. An InitProducerId answered CONCURRENT_TRANSACTIONS is routine here: each committed
 * id gets a new producer session while the broker may still be writing its commit markers,
 * and a recovery's fencing meets the transaction it aborts. kafkajs's EosManager retries it
 * (and the coordinator-moving errors); what it gives up on rejects producer.transaction(),
 * which this sink reports itself (TRIB_SINK_COMMIT_FAILED at open, the job's failure at the
 * next send, a warning when a renewal is retried). So these response lines go to debug.
 */
function isInitProducerIdResponse(namespace: string, message: string): boolean {
  return namespace === 'Connection' && message.startsWith('Response InitProducerId');
}

/**
 * What a producer's debug log tells: its id and epoch after InitProducerId, and that InitProducerId found an open
 * transaction (the broker aborts it).
 */
export interface ProducerLogHooks {
  producerId?(pid: string, epoch: number): void;
  ongoingTransaction?(): void;
}

function kafkaLogs(logger: Logger, hooks: ProducerLogHooks): logCreator {
  return () => (entry) => {
    const { message, ...extra } = entry.log;
    if (message === 'Initialized producer id & epoch') {
      // kafkajs decodes the Int64 producer id as a string.
      const e = extra as { producerId?: number | string; producerEpoch?: number };
      if ((typeof e.producerId === 'number' || typeof e.producerId === 'string') && typeof e.producerEpoch === 'number')
        hooks.producerId?.(String(e.producerId), e.producerEpoch);
      return;
    }
    // eosManager.initProducerId on CONCURRENT_TRANSACTIONS, before it retries.
    if (message === 'There is an ongoing transaction on this transactionId, retrying') hooks.ongoingTransaction?.();
    if (message === LIMITED_RETRIES || isInitProducerIdResponse(entry.namespace, message))
      logger.debug({ kafka: entry.namespace, ...extra }, message);
    else if (entry.level <= logLevel.WARN) logKafkajsEntry(logger, entry);
  };
}

/**
 * A client at DEBUG level whose log goes to `hooks`, warnings and errors to pino. `bounds`: the
 * sink's `requestTimeout` and `retries` (its producers inherit the retries: kafkajs's idempotent
 * producer would otherwise retry for ever).
 */
export function transactionalClient(
  brokers: string[] | string,
  clientId: string,
  logger: Logger,
  hooks: ProducerLogHooks = {},
  bounds: Partial<ClientBounds> = {},
): KafkaClient {
  return new Kafka({
    clientId,
    brokers: brokerList(brokers),
    logLevel: logLevel.DEBUG,
    logCreator: kafkaLogs(logger, hooks),
    requestTimeout: bounds.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    retry: { retries: bounds.retries ?? DEFAULT_RETRIES },
  });
}

type InternalBroker = {
  endTxn(r: {
    transactionalId: string;
    producerId: string;
    producerEpoch: number;
    transactionResult: boolean;
  }): Promise<unknown>;
};
export interface KafkaCommittable {
  transactionalId: string;
  /** Int64 as a decimal string. */
  producerId: string;
  producerEpoch: number;
  checkpointId: number;
}

/**
 * Why a restored transaction the broker answers PRODUCER_FENCED may not count as committed, else
 * undefined (transactional-sink.ts: the restored checkpoint is no fenced deployment's orphan).
 */
export type FencedDoubt = () => Promise<Error | undefined>;

/**
 * Commits restored committables with EndTxn(COMMIT) and their recorded producer id and epoch
 * (see transactional-sink.ts on recovery). Resolves with the transactional ids this call
 * committed (EndTxn succeeded), leaving out those found committed or ended earlier. A
 * transaction whose id has a newer session (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH) was either
 * committed and its id reused, or aborted by a successor's fencing; Kafka does not tell which.
 * It counts as committed only when `doubt` finds nothing against it; else the recovery fails
 * with TRIB_SINK_TXN_FENCED naming the transaction — carrying on would lose its records.
 */
export async function commitRestored(
  kafka: KafkaClient,
  committables: readonly KafkaCommittable[],
  log: Logger,
  where: { sink: string; slot: number },
  timeoutMs: number,
  doubt: FencedDoubt,
): Promise<Set<string>> {
  const { sink } = where;
  const committed = new Set<string>();
  let doubted: Promise<Error | undefined> | undefined;
  const cluster = internalCluster<InternalBroker>(kafka, 'TRIB_SINK_COMMIT_FAILED', 'for exactly-once recovery');
  await cluster.connect();
  try {
    for (const c of committables) {
      for (let attempt = 0; ; attempt++) {
        try {
          const broker = await cluster.findGroupCoordinator({ groupId: c.transactionalId, coordinatorType: 1 });
          await broker.endTxn({
            transactionalId: c.transactionalId,
            producerId: c.producerId,
            producerEpoch: c.producerEpoch,
            transactionResult: true,
          });
          log.info({ sink, ...c }, 'recovered transaction committed');
          committed.add(c.transactionalId);
          break;
        } catch (e) {
          const type = (e as { type?: string }).type ?? '';
          if (type === 'PRODUCER_FENCED' || type === 'INVALID_PRODUCER_EPOCH') {
            const why = await (doubted ??= doubt());
            if (why)
              throw new TributaryError(
                'TRIB_SINK_TXN_FENCED',
                `sink "${sink}" slot ${where.slot}: the restored transaction ${c.transactionalId} (producer ${c.producerId} epoch ${c.producerEpoch}, checkpoint ${c.checkpointId}) was answered ${type}: it is not proven committed, and carrying on would lose its records if it was aborted: ${why.message}`,
                { cause: why },
              );
            log.warn(
              { sink, ...c, error: type },
              "recovered transaction was committed earlier (its id has a newer session, and the restored checkpoint is no fenced deployment's orphan)",
            );
            break;
          }
          if (type === 'INVALID_TXN_STATE') {
            // Committed with this very session and then ended, or aborted by the broker
            // (transaction.timeout.ms passed before recovery): Kafka does not tell which.
            // As Flink's KafkaCommitter, carry on, but loudly: in the second case the
            // checkpoint's output of this slot is gone.
            log.error(
              { sink, ...c, error: type, transactionTimeoutMs: timeoutMs },
              'recovered transaction is no longer open: committed earlier, or aborted by the broker after its transaction timeout (then its records are lost)',
            );
            break;
          }
          if (attempt >= 10 || !(e as { retriable?: boolean }).retriable) throw e;
          await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
        }
      }
    }
  } finally {
    await cluster.disconnect();
  }
  return committed;
}
