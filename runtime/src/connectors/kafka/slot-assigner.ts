// The partition assigner of a Kafka source slot's consumer group: the group has one member
// (the slot), which gets exactly the partitions the slot owns (partitionOwner), so the
// assignment never depends on group rebalancing.
import './kafkajs-read-committed.ts'; // before kafkajs: fixes its read_committed filter
import kafkajs from 'kafkajs';
import type { Assigner, PartitionAssigner } from 'kafkajs';

const { AssignerProtocol } = kafkajs;

export function slotAssigner(topic: string, partitions: number[]): PartitionAssigner {
  return (): Assigner => ({
    name: 'TributarySlotAssigner',
    version: 1,
    assign: ({ members }) =>
      Promise.resolve(
        members.map((m, i) => ({
          memberId: m.memberId,
          // One member per slot group; any extra member (a misconfigured duplicate) gets nothing.
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 1,
            assignment: i === 0 ? { [topic]: partitions } : {},
            userData: Buffer.alloc(0),
          }),
        })),
      ),
    protocol: ({ topics }) => ({
      name: 'TributarySlotAssigner',
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
    }),
  });
}
