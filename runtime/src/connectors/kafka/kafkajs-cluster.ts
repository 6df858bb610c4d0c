// kafkajs internal (2.2.4): a Cluster of a client, for the requests kafkajs's public API does not
// make: EndTxn for a recovered transaction (transactional-client.ts) and a member-less
// OffsetCommit (offset-commits.ts). `Broker` is what the caller needs of the group coordinator.
import type { Kafka as KafkaClient } from 'kafkajs';
import { TributaryError, type ErrorCode } from '../../errors.ts';

export type InternalCluster<Broker> = {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(r: { groupId: string; coordinatorType: number }): Promise<Broker>;
};

/** A Cluster of `kafka`; `code` and `needFor` name what fails when kafkajs no longer has one. */
export function internalCluster<Broker>(kafka: KafkaClient, code: ErrorCode, needFor: string): InternalCluster<Broker> {
  const sym = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const create = sym === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[sym];
  if (typeof create !== 'function')
    throw new TributaryError(
      code,
      `kafkajs internals changed: no private createCluster (kafkajs 2.2.4 is required ${needFor})`,
    );
  return (create as (o: object) => InternalCluster<Broker>)({ metadataMaxAge: 300_000, allowAutoTopicCreation: false });
}
