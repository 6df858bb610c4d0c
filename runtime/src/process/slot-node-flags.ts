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
export const SLOT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
