// Node flags of every slot process: `tributary run --distributed` spawns its slots with them, the
// runtime image's ENTRYPOINT (Dockerfile) and the local cluster's node agent (image-map.ts) start
// slot pods with them; slot-node-flags.test.ts keeps the Dockerfile in step.
//
// --max-semi-space-size=8 (MiB): V8 sizes the young generation from the machine's memory, not
// the process's needs, and a record-churning slot grows it to its cap at once (each semi-space
// 16–32 MiB, three of them resident): on a Kafka → Kafka pass-through that alone was ~100 MiB
// of a slot's ~330 MiB peak RSS. Capped at 8 MiB the same job peaks at ~230 MiB per slot with no
// loss of records/s (bench/slot-memory.ts, docs/runtime/distributed.md "Memory"). Not capped:
// the old generation, whose size is the job's state (a cap there trades throughput and an OOM
// for memory the job may need).
const SEMI_SPACE_MIB = 8;
export const SLOT_NODE_FLAGS: readonly string[] = [`--max-semi-space-size=${SEMI_SPACE_MIB}`];

/**
 * The same cap for a slot on a worker thread (`--threads`, `execute({ threads })`), whose isolate
 * takes no command-line flags of its own: V8's young generation is its two semi-spaces plus a
 * new-large-object space of one semi-space's size, so 3 × 8 MiB is the process slots' cap.
 */
export const SLOT_THREAD_RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 3 * SEMI_SPACE_MIB } as const;
