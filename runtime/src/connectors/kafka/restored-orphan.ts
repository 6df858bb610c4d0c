// The doubt a Kafka sink's recovery checks before it counts a restored transaction answered
// PRODUCER_FENCED as committed (transactional-client.ts): whether the checkpoint it restored is a
// fenced deployment's orphan (checkpoint/fenced-checkpoints.ts), whose transactions a successor's
// fencing aborted. Fails closed: a restored checkpoint it does not know or cannot check is a doubt.
import { stateDirOf } from '../../checkpoint/checkpoint-storage.ts';
import { orphanVerdict } from '../../checkpoint/fenced-checkpoints.ts';
import { readMetadata } from '../../checkpoint/metadata.ts';

export async function restoredOrphan(restoredFrom: string | undefined): Promise<Error | undefined> {
  if (!restoredFrom) return new Error('the restored checkpoint is not known to the sink, so it cannot be checked');
  try {
    const meta = await readMetadata(restoredFrom);
    const stateDir = stateDirOf(restoredFrom);
    // A folder outside any state location (a copied savepoint) has no fence beside it.
    if (stateDir === undefined) return undefined;
    return await orphanVerdict(stateDir, { id: meta.checkpointId, deployment: meta.deployment });
  } catch (e) {
    return new Error(`the restored checkpoint ${restoredFrom} cannot be checked: ${(e as Error).message}`, {
      cause: e,
    });
  }
}
