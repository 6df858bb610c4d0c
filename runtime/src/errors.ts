// One error type for the whole runtime. `code` is stable (tests, logs and the operator's
// Degraded reasons match on it); `path` names the offending spec field when there is one.

export type ErrorCode =
  | 'TRIB_GRAPH_INVALID'
  | 'TRIB_GRAPH_LOAD'
  // A StreamJob (or other) manifest its CRD's schema refuses: an unknown field, a wrong type, a missing required
  // field, an apiVersion or kind no shipped CRD serves (graph/manifest-schema.ts); `issues` names every path.
  | 'TRIB_MANIFEST_INVALID'
  | 'TRIB_EXPR_INVALID'
  | 'TRIB_EXPR_EVAL'
  | 'TRIB_RECORD_FAILED'
  // A value an aggregate refuses (a non-number to sum/avg, mixed kinds in min/max, a sum leaving the finite range).
  | 'TRIB_AGGREGATE_INPUT'
  // A CEL expression over its cost budget (at validation or evaluation) or its length limit.
  | 'TRIB_EXPR_BUDGET'
  | 'TRIB_CONNECTOR_UNSUPPORTED'
  | 'TRIB_CONNECTOR_FAILED'
  // A source's position does not exist in its input: a Kafka topic deleted and created again (a new
  // log, offsets from 0 again) or truncated under it. Reading on would skip records silently.
  | 'TRIB_SOURCE_POSITION_INVALID'
  | 'TRIB_STATE_CORRUPT'
  | 'TRIB_STATE_INCOMPATIBLE'
  | 'TRIB_STATE_LOCKED'
  | 'TRIB_STATE_RETAINED'
  | 'TRIB_STATE_STORAGE'
  | 'TRIB_STATE_STORAGE_URI'
  | 'TRIB_STATE_FENCE'
  // A slot's live heap stays at its limit after full collections (exec/heap-limit-watch.ts): its
  // state no longer fits the memory it has; the job fails, naming the limit, instead of stalling.
  | 'TRIB_STATE_MEMORY_LIMIT'
  | 'TRIB_STATE_LOCAL_STORE'
  | 'TRIB_STATE_KEY_TOO_LONG'
  | 'TRIB_DEPLOYMENT_FENCED'
  // A restore of a checkpoint a fenced deployment wrote after its fencer chose what to restore
  // (checkpoint/fenced-checkpoints.ts): its transactions were aborted, its output would be lost.
  | 'TRIB_RESTORE_FENCED_ORPHAN'
  // A state store that ignores `If-None-Match: *` (checkpoint/storage/exclusive-commit-probe.ts):
  // two writers of one checkpoint, fence or restore decision could both succeed.
  | 'TRIB_STATE_STORE_NOT_EXCLUSIVE'
  | 'TRIB_CLI_USAGE'
  // The dashboard (runtime/src/dashboard): a bad option (capacity, address), a job it does not know (HTTP 404),
  // a method it refuses (405: it is read-only), a source that failed to answer (500).
  | 'TRIB_DASHBOARD_CONFIG'
  | 'TRIB_DASHBOARD_NOT_FOUND'
  | 'TRIB_DASHBOARD_METHOD'
  | 'TRIB_DASHBOARD_SOURCE'
  // Control API (runtime/src/control): its token file, a request it refuses (HTTP 400).
  | 'TRIB_CONTROL_CONFIG'
  | 'TRIB_CONTROL_BAD_REQUEST'
  | 'TRIB_CHECKPOINT_DECLINED'
  | 'TRIB_CHECKPOINT_TIMEOUT'
  | 'TRIB_CHECKPOINT_FAILED'
  | 'TRIB_CHECKPOINT_BUSY'
  | 'TRIB_RESTORE_METADATA_MISSING'
  | 'TRIB_RESTORE_METADATA_CORRUPT'
  | 'TRIB_RESTORE_VERSION'
  | 'TRIB_RESTORE_MAX_PARALLELISM'
  | 'TRIB_RESTORE_PARALLELISM'
  | 'TRIB_RESTORE_FILE_MISSING'
  | 'TRIB_RESTORE_TRUNCATED'
  | 'TRIB_RESTORE_CHECKSUM'
  | 'TRIB_RESTORE_RANGE_CHECKSUM'
  | 'TRIB_RESTORE_NON_RESTORED_STATE'
  | 'TRIB_RESTORE_UNREADABLE'
  // Live rescale (docs/design/live-rescale.md): a migration plan's input that cannot be planned
  // (rescale/plan.ts); a key-group hand-off (state/key-group-handoff.ts) extracting a key group its
  // backend does not own, or installing one it owns already.
  | 'TRIB_RESCALE_PLAN_INVALID'
  // A plan this executor cannot carry out (rescale/migration.ts: a slot not in this process, a
  // partition move, a key group not where the plan says); a step whose barrier did not complete.
  | 'TRIB_RESCALE_UNSUPPORTED'
  | 'TRIB_RESCALE_STEP_FAILED'
  // A moved partition's watermark floor the new owner (another process) never reported caught up
  // within the checkpoint timeout (rescale/floors-across.ts).
  | 'TRIB_RESCALE_FLOOR_STUCK'
  | 'TRIB_STATE_KEY_GROUP_NOT_OWNED'
  | 'TRIB_STATE_KEY_GROUP_OWNED'
  | 'TRIB_SINK_COMMIT_FAILED'
  // A restored Kafka transaction the broker answers PRODUCER_FENCED that is not proven committed
  // (connectors/kafka/transactional-client.ts): carrying on would lose its records.
  | 'TRIB_SINK_TXN_FENCED'
  | 'TRIB_JOB_FAILED'
  // Invalid job options passed to the executor (parallelism, maxParallelism, slot list).
  | 'TRIB_JOB_CONFIG'
  // A broken internal invariant: a bug, never user input.
  | 'TRIB_INVARIANT'
  // Data plane (runtime/src/net): bad frames, refused handshakes, lost connections.
  | 'TRIB_NET_PROTOCOL'
  | 'TRIB_NET_FRAME_TOO_LARGE'
  | 'TRIB_NET_REFUSED'
  | 'TRIB_NET_CONNECT'
  | 'TRIB_NET_CONNECTION_LOST'
  | 'TRIB_NET_BIND'
  // Peer discovery and slot processes (runtime/src/process).
  | 'TRIB_PEER_DISCOVERY'
  | 'TRIB_PEER_TIMEOUT'
  | 'TRIB_PEER_CONFIG'
  // Functions of the job's code (the TypeScript API): one threw on a record, or the graph names
  // one the code does not define; a mapAsync call that did not settle within its timeout (the
  // cause of the TRIB_FUNCTION_FAILED it fails its record with).
  | 'TRIB_FUNCTION_FAILED'
  | 'TRIB_FUNCTION_TIMEOUT'
  | 'TRIB_FUNCTION_MISSING'
  // Application mode: a slot's job module could not be loaded or did not submit one job.
  | 'TRIB_JOB_MODULE'
  // Kudu client (runtime/src/connectors/kudu/client).
  | 'TRIB_KUDU_CONFIG'
  | 'TRIB_KUDU_CONNECT'
  | 'TRIB_KUDU_TIMEOUT'
  | 'TRIB_KUDU_PROTOCOL'
  | 'TRIB_KUDU_AUTH'
  | 'TRIB_KUDU_TLS_REQUIRED'
  | 'TRIB_KUDU_TLS'
  | 'TRIB_KUDU_TLS_UNTRUSTED'
  | 'TRIB_KUDU_RPC'
  | 'TRIB_KUDU_MASTER'
  | 'TRIB_KUDU_TSERVER'
  | 'TRIB_KUDU_TABLE_NOT_FOUND'
  | 'TRIB_KUDU_TABLE_EXISTS'
  | 'TRIB_KUDU_SCHEMA'
  | 'TRIB_KUDU_UNSUPPORTED'
  | 'TRIB_KUDU_ROW_ERRORS'
  | 'TRIB_KUDU_LOOKUP'
  // A lookup table's store (Druid, or Kudu for a copy table) stayed unavailable past its bound.
  | 'TRIB_LOOKUP_UNAVAILABLE'
  // Schema registry client (runtime/src/formats/registry; docs/runtime/formats.md): bad client options;
  // an unknown schema id, subject or version (HTTP 404); a schema the subject's compatibility refuses
  // (409); a schema the registry cannot parse (422); credentials refused (401/403); the registry
  // unreachable, timing out or answering 5xx after the retries; an answer of an unexpected shape.
  | 'TRIB_REGISTRY_CONFIG'
  | 'TRIB_REGISTRY_NOT_FOUND'
  | 'TRIB_REGISTRY_INCOMPATIBLE'
  | 'TRIB_REGISTRY_INVALID_SCHEMA'
  | 'TRIB_REGISTRY_AUTH'
  | 'TRIB_REGISTRY_UNAVAILABLE'
  | 'TRIB_REGISTRY_RESPONSE'
  // A schema's references cannot be resolved: a cycle, a chain or a set beyond the bounds, one name given
  // two schemas, or a referenced schema of another type (formats/registry/references.ts).
  | 'TRIB_REGISTRY_REFERENCE'
  // Codecs (runtime/src/formats): bytes that are not a framed message or do not decode with their
  // writer schema; a record the schema cannot encode; a schema the codec cannot use.
  | 'TRIB_FORMAT_DECODE'
  | 'TRIB_FORMAT_ENCODE'
  | 'TRIB_FORMAT_SCHEMA';

export interface ValidationIssue {
  /** Dotted path into the spec, e.g. `graph.steps[2].window.size`. */
  path: string;
  message: string;
}

export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly path: string | undefined;
  readonly issues: readonly ValidationIssue[];
  /** The record being processed when a function of the job's code threw (TRIB_FUNCTION_FAILED). */
  readonly record: unknown;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; path?: string; issues?: ValidationIssue[]; record?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TributaryError';
    this.code = code;
    this.path = options.path;
    this.issues = options.issues ?? [];
    this.record = options.record;
  }
}

export function isTributaryError(e: unknown, code?: ErrorCode): e is TributaryError {
  return e instanceof TributaryError && (code === undefined || e.code === code);
}
