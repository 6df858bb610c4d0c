// DruidDatasource (tributary.dev/v1alpha1): these types are the API's source of truth;
// crds/druiddatasources.tributary.dev.yaml is generated from them as streamjob.ts describes
// (`npm run generate`; JSDoc is the description, JSDoc tags the markers).
import type { Condition, ObjectMeta } from './streamjob.ts';

export const kind = 'DruidDatasource';
export const plural = 'druiddatasources';

export type MetricType =
  | 'count'
  | 'longSum'
  | 'doubleSum'
  | 'floatSum'
  | 'longMin'
  | 'longMax'
  | 'doubleMin'
  | 'doubleMax'
  | 'floatMin'
  | 'floatMax'
  | 'longFirst'
  | 'longLast'
  | 'doubleFirst'
  | 'doubleLast'
  | 'stringFirst'
  | 'stringLast'
  | 'hyperUnique'
  | 'thetaSketch'
  | 'HLLSketchBuild';

export type SegmentGranularity =
  | 'MINUTE'
  | 'FIVE_MINUTE'
  | 'TEN_MINUTE'
  | 'FIFTEEN_MINUTE'
  | 'THIRTY_MINUTE'
  | 'HOUR'
  | 'SIX_HOUR'
  | 'EIGHT_HOUR'
  | 'DAY'
  | 'WEEK'
  | 'MONTH'
  | 'QUARTER'
  | 'YEAR';
export type QueryGranularity =
  'NONE' | 'SECOND' | 'MINUTE' | 'FIVE_MINUTE' | 'TEN_MINUTE' | 'FIFTEEN_MINUTE' | 'THIRTY_MINUTE' | 'HOUR' | 'DAY';

// A dimension's name (the tags constrain the CRD's dimensions[] items).
/**
 * @minLength 1
 * @maxLength 255
 */
export type DimensionName = string;

/**
 * @xKubernetesValidations [
 *   {
 *     rule: "self.type == 'count' || has(self.fieldName)",
 *     message: "fieldName is required for every metric type except count",
 *   },
 * ]
 */
export interface DruidMetric {
  /**
   * Druid aggregator type. count counts ingested rows (with rollup, query SUM of it, not COUNT(*)); thetaSketch
   * and HLLSketchBuild need the DataSketches extension loaded in Druid.
   */
  type: MetricType;
  /**
   * Output column in Druid; unique among the metrics.
   * @minLength 1
   * @maxLength 255
   */
  name: string;
  /**
   * Input field aggregated; required for every type but count.
   * @minLength 1
   * @maxLength 255
   */
  fieldName?: string;
}

// A DruidDatasource's condition: Condition, documented with the types and reasons this controller sets.
export interface DruidCondition extends Condition {
  /**
   * Synced or Ready.
   * @maxLength 316
   */
  type: string;
  /**
   * Machine-readable CamelCase cause, e.g. InSync, Running, Suspended, DruidUnavailable, SpecRejected.
   * @maxLength 1024
   */
  reason: string;
}

export interface DruidDatasourceSpec {
  /**
   * The Druid cluster whose supervisor API (/druid/indexer/v1/supervisor) the operator calls.
   */
  druid: {
    /**
     * Druid Router (or Overlord) base URL, e.g. http://druid-router:8888.
     * @maxLength 2048
     * @xKubernetesValidations [
     *   {
     *     rule: "self.matches('^https?://[^/\\\\s]+(/.*)?$')",
     *     message: "must be an http(s) URL like http://druid-router:8888",
     *   },
     * ]
     */
    url: string;
    /**
     * Send the basicAuthSecretRef credentials over plain http. Default false: credentials go only to an https url,
     * and an http url with credentials sets Synced False (InsecureCredentials).
     * @default false
     */
    allowInsecure?: boolean;
    /**
     * Secret in the same namespace holding Druid basic-auth credentials, read on every sync. The Secret must carry
     * the label tributary.dev/credentials "true" (the operator reads no other Secret); a missing or unlabelled
     * Secret or a missing key sets Synced False (CredentialsUnavailable). Default: no authentication.
     */
    basicAuthSecretRef?: {
      /**
       * Name of the Secret.
       * @maxLength 253
       */
      name: string;
      /**
       * Key of the Secret's data holding the user name. Default username.
       * @default username
       * @maxLength 253
       */
      usernameKey: string;
      /**
       * Key of the Secret's data holding the password. Default password.
       * @default password
       * @maxLength 253
       */
      passwordKey: string;
    };
  };
  /**
   * Druid datasource (and supervisor id); default metadata.name. Changing a set value is rejected; adding or
   * removing it later switches this object to another supervisor and leaves the old one running.
   * @minLength 1
   * @maxLength 255
   * @xKubernetesValidations [
   *   { rule: "!self.startsWith('.') && !self.contains('/')", message: "must not start with \".\" or contain \"/\"" },
   * ]
   */
  dataSource?: string;
  /**
   * The topic Druid ingests. StreamJob druid sinks naming this DruidDatasource (datasourceRef) write to the same
   * brokers and topic, so both Druid and the slot pods must reach them.
   */
  kafka: {
    /**
     * Kafka brokers, host:port[,host:port...]; always used as bootstrap.servers.
     * @minLength 1
     * @maxLength 4096
     */
    bootstrapServers: string;
    /**
     * Kafka topic name (letters, digits, ".", "_", "-").
     * @minLength 1
     * @maxLength 249
     * @pattern ^[a-zA-Z0-9._-]+$
     */
    topic: string;
    /**
     * Extra Kafka consumer properties for Druid's ingestion tasks. isolation.level defaults to read_committed
     * (rows of the exactly-once druid sink appear once their checkpoint commits; overriding it can ingest rows of
     * aborted checkpoints); bootstrap.servers here is ignored.
     */
    consumerProperties?: Record<string, string>;
  };
  /**
   * Druid's timestampSpec. StreamJob druid sinks fill this column into rows that lack it, written in this format
   * (millis and auto: epoch ms).
   * @default {}
   */
  timestamp: {
    /**
     * Input field holding each row's time. Default ts.
     * @default ts
     * @minLength 1
     * @maxLength 255
     */
    column: string;
    /**
     * How Druid parses the column: millis (epoch ms), iso (ISO-8601), posix (epoch s), micro, nano (epoch µs, ns)
     * or auto (iso or millis, detected). Default auto.
     * @default auto
     */
    format: 'millis' | 'iso' | 'auto' | 'posix' | 'micro' | 'nano';
  };
  /**
   * String dimensions. Empty = Druid schema discovery (every field not a metric or the timestamp).
   * @maxItems 1000
   * @xKubernetesListType set
   */
  dimensions?: DimensionName[];
  /**
   * Druid aggregators (metricsSpec) computed at ingestion; with rollup, per dimensions and query-granularity
   * bucket.
   * @maxItems 500
   * @xKubernetesListType map
   * @xKubernetesListMapKeys ["name"]
   */
  metrics?: DruidMetric[];
  /**
   * Druid's granularitySpec (uniform).
   * @default {}
   */
  granularity: {
    /**
     * Time span of one segment (segmentGranularity). Default HOUR.
     * @default HOUR
     */
    segment: SegmentGranularity;
    /**
     * Timestamps are truncated to this at ingestion (queryGranularity); the finest time resolution of queries.
     * Default MINUTE.
     * @default MINUTE
     */
    query: QueryGranularity;
    /**
     * Combine rows with the same dimensions and truncated timestamp into one, aggregating the metrics; compare SUM
     * of metrics rather than row counts. Default true.
     * @default true
     */
    rollup: boolean;
  };
  /**
   * The supervisor's ioConfig for its Kafka indexing tasks.
   * @default {}
   */
  ingestion: {
    /**
     * Maximum reading tasks per replica set; Kafka partitions are split among them, so at most one task per
     * partition runs. Default 1.
     * @default 1
     * @minimum 1
     * @maximum 1000
     * @format int32
     */
    taskCount: number;
    /**
     * Replica sets of tasks reading the same partitions (on different Middle Managers), for availability. Default
     * 1.
     * @default 1
     * @minimum 1
     * @maximum 10
     * @format int32
     */
    replicas: number;
    /**
     * How long a task reads before it stops and publishes its segments, an ISO-8601 duration like PT10M. Default
     * PT1H.
     * @default PT1H
     * @maxLength 32
     * @xKubernetesValidations [
     *   {
     *     rule: "self.matches('^P(?:[0-9]+D)?(?:T(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+S)?)?$') && self != 'P' && \
     *       !self.endsWith('T')",
     *     message: "must be an ISO-8601 duration like PT1H or PT10M",
     *   },
     * ]
     */
    taskDuration: string;
    /**
     * For partitions Druid has no stored offsets for (a new supervisor or datasource): start at the earliest
     * (true) or the latest (false) offset. Later, Druid resumes from its stored offsets. Default true.
     * @default true
     */
    useEarliestOffset: boolean;
  };
  /**
   * Suspend the supervisor (ingestion pauses; data stays). Default false.
   * @default false
   */
  suspend: boolean;
  /**
   * On deletion, terminate the supervisor (Terminate) or leave it running (Retain). Data is never deleted. Default
   * Terminate.
   * @default Terminate
   */
  deletionPolicy: 'Terminate' | 'Retain';
  /**
   * Deep-merged into the generated supervisor spec, e.g. {"spec": {"tuningConfig": {"maxRowsInMemory": 50000}}}.
   * Objects merge key by key; other values (arrays included) replace what the fields above generate.
   */
  specOverrides?: Record<string, unknown>;
}

export interface DruidDatasourceStatus {
  /**
   * The supervisor (and datasource) this object owns.
   */
  supervisorId?: string;
  /**
   * The supervisor state Druid reports: PENDING, RUNNING, IDLE, SUSPENDED, STOPPING, UNHEALTHY_SUPERVISOR,
   * UNHEALTHY_TASKS, or NOT_FOUND (no supervisor).
   */
  state?: string;
  /**
   * Druid's detailed supervisor state, e.g. CONNECTING_TO_STREAM, DISCOVERING_INITIAL_TASKS, RUNNING.
   */
  detailedState?: string;
  /**
   * Druid's health flag of the supervisor.
   */
  healthy?: boolean;
  /**
   * Kafka records not yet ingested, summed over partitions, as Druid last reported.
   * @format int64
   */
  aggregateLag?: number;
  /**
   * The supervisor's latest errors as Druid reports them (the last 10).
   * @maxItems 10
   */
  recentErrors?: string[];
  /**
   * The metadata.generation last reconciled (successfully or not).
   * @format int64
   */
  observedGeneration?: number;
  /**
   * Hash of the generated supervisor spec last confirmed in Druid.
   */
  lastSyncedSpecHash?: string;
  /**
   * The last failure (Druid unreachable, rejected spec, credentials); removed by the next successful sync.
   */
  lastError?: string;
  /**
   * Synced (the supervisor matches the spec; reasons InSync, SpecRejected, CredentialsUnavailable,
   * InsecureCredentials, ClaimedElsewhere, DruidUnavailable, DruidUnauthorized, TerminateFailed) and Ready (running
   * and healthy, or suspended as asked; else the supervisor state or the failure). DruidUnavailable (Druid
   * unreachable or answering 5xx): the message names the URL called and Druid's error; retried with a backoff of 1 s
   * doubling to 30 s until Druid answers. SpecRejected: Druid's own message; the spec is sent again when it changes
   * or after 5 minutes.
   * @xKubernetesListType map
   * @xKubernetesListMapKeys ["type"]
   */
  conditions?: DruidCondition[];
}

/**
 * A Druid datasource fed from a Kafka topic. The operator makes sure a Druid Kafka ingestion supervisor exists with
 * this spec (repairing drift and supervisors terminated outside it), suspends and resumes it, reports its health and
 * lag, and terminates it on deletion (deletionPolicy Terminate).
 */
export interface DruidDatasource {
  /**
   * APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized
   * schemas to the latest internal value, and may reject unrecognized values. More info:
   * https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources
   */
  apiVersion: 'tributary.dev/v1alpha1';
  /**
   * Kind is a string value representing the REST resource this object represents. Servers may infer this from the
   * endpoint the client submits requests to. Cannot be updated. In CamelCase. More info:
   * https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds
   */
  kind: 'DruidDatasource';
  metadata: ObjectMeta;
  /**
   * The supervisor to keep in Druid. The operator generates a Kafka supervisor spec from these fields (JSON
   * input), deep-merges specOverrides over it, and re-applies it whenever the keys it sets differ from what Druid
   * has (checked every 30 s, every 5 s while settling).
   * @xKubernetesValidations [
   *   {
   *     rule: "!has(self.dataSource) || !has(oldSelf.dataSource) || self.dataSource == oldSelf.dataSource",
   *     message: "spec.dataSource is immutable; create a new DruidDatasource for another datasource",
   *   },
   * ]
   */
  spec: DruidDatasourceSpec;
  /**
   * Observed state of the supervisor, written by the operator.
   */
  status?: DruidDatasourceStatus;
}

/** The datasource (and supervisor id) a DruidDatasource owns. */
export function dataSourceOf(ds: Pick<DruidDatasource, 'metadata' | 'spec'>): string {
  return ds.spec.dataSource ?? ds.metadata.name;
}
