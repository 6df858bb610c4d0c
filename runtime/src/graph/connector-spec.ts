// The built-in connectors' part of the job graph contract (spec.ts re-exports it; the Kudu
// connectors' is kudu-spec.ts): a source's or sink's config under its connector's key. Types
// only; each connector's <kind>-config-rules.ts checks them. Their JSDoc is also the CRD's
// description of the field (operator/build/generate-crds.ts).
import type { FieldType } from '../core/record.ts';

export type RecordFormat = 'json' | 'string' | 'bytes';

/** Formats in the schema registry's wire format (docs/runtime/formats.md); they need a `registry`. */
export type RegistryFormat = 'avro' | 'protobuf' | 'json-schema';

/** A registered schema an inline schema uses (a .proto it imports, an Avro schema defining a type it names). */
export interface RegistrySchemaReferenceSpec {
  /** The name the schema uses: the import path of a .proto (`it/common.proto`), the full name of an Avro type. */
  name: string;
  /** The subject the referenced schema is registered under. */
  subject: string;
  /** Its version (an integer ≥ 1: a reference is pinned). */
  version: number;
}

/** The schema a registry format reads into (a source) or writes with (a sink). */
export type RegistrySchemaSpec =
  | {
      inline: string;
      /**
       * The registered schemas the inline schema references (registered and looked up with it, as Confluent's
       * serializers do); Protobuf's well-known imports (google/protobuf/*.proto) need none.
       */
      references?: RegistrySchemaReferenceSpec[];
    }
  | { version: number | 'latest' };

/** A Kafka source's or sink's schema registry (Confluent REST API; Apicurio's `/apis/ccompat/v7`). */
export interface SchemaRegistrySpec {
  /** Base URL of the registry's Confluent API, e.g. `http://registry:8080/apis/ccompat/v7`; no credentials in it. */
  url: string;
  /** Which subject the value's schema lives under: `topic` (`<topic>-value`, default), `record`, `topic-record`. */
  subjectStrategy?: 'topic' | 'record' | 'topic-record';
  /**
   * Source: the reader schema (records read as it; absent: as written). Sink: the writer schema (required). Given
   * `inline` (the schema's text, with `references: [{name, subject, version}]` to the registered schemas it
   * imports or names, if any) or as a `version` (a number or `latest`) of the subject.
   */
  schema?: RegistrySchemaSpec;
  /**
   * With `keyFormat`: the key's schema, under `<topic>-key` (or the record-named subject). Source: the reader key
   * schema (absent: keys as written). Sink: the writer key schema (required). `inline` or a `version`.
   */
  keySchema?: RegistrySchemaSpec;
  /** Sink: register the writer schema under its subject at start (default true); false: it must be registered. */
  autoRegister?: boolean;
  /** Protobuf sink: the message to write (name or full name); default the schema's first message. */
  messageName?: string;
  /** Sink with `keyFormat: protobuf`: the key message to write (name or full name); default the key schema's first. */
  keyMessageName?: string;
  /** Path (in the slot pods) of a PEM CA certificate to trust for an `https` URL. */
  caFile?: string;
  /**
   * Basic auth: from an opted-in Secret (`secretRef`, on the cluster: the slot pods read its keys by reference), or
   * from environment variables of the slot pods named here (`usernameEnv` and `passwordEnv`); never the secrets
   * themselves.
   */
  basicAuth?: {
    /** The environment variable holding the user name (with passwordEnv; not with secretRef). */
    usernameEnv?: string;
    /** The environment variable holding the password (with usernameEnv; not with secretRef). */
    passwordEnv?: string;
    /**
     * A Secret of the job's namespace labelled `tributary.dev/credentials: "true"` holding the user name and the
     * password (not with usernameEnv/passwordEnv).
     */
    secretRef?: {
      /** The Secret's name (required). */
      name: string;
      /** The key of the user name in the Secret (default `username`). */
      usernameKey?: string;
      /** The key of the password in the Secret (default `password`). */
      passwordKey?: string;
    };
  };
}

export interface KafkaSourceSpec {
  /** Kafka bootstrap brokers: "host:port,host:port" or a list of "host:port". */
  brokers: string[] | string;
  /** The topic to read; one that does not exist yet is waited for. */
  topic: string;
  /** Consumer group whose committed offsets a job without checkpoints starts from. Default `tributary-<source>`. */
  groupId?: string;
  /** Where to start when no offset is known. Default `earliest`. */
  startFrom?: 'earliest' | 'latest';
  /** `latest`: stop after the end offsets seen at start (a bounded read). Default: unbounded. */
  bounded?: 'latest';
  /**
   * How a record is read: `json` (default; an object), `string` or `bytes` (`{value, key}`), or through the schema
   * registry (`registry`): `avro`, `protobuf`, `json-schema` (the value's fields; the key only with `keyFormat`).
   */
  format?: 'json' | 'string' | 'bytes' | 'avro' | 'protobuf' | 'json-schema';
  /** With `format: avro | protobuf | json-schema` (required then): the schema registry and the reader schema. */
  registry?: SchemaRegistrySpec;
  /**
   * How the message key is read, with a registry `format` only: `avro`, `protobuf` or `json-schema` through the
   * same `registry` (`registry.keySchema`, subject `<topic>-key`); the decoded key is the record's `keyField`.
   * Absent: the key is not read.
   */
  keyFormat?: RegistryFormat;
  /** With `keyFormat`: the record field holding the decoded key (null for a message without a key). Default `key`. */
  keyField?: string;
  /** Records that cannot be parsed: `skip` (count and drop) or `deadLetter` (count and send to `deadLetterTopic`). */
  onError?: 'skip' | 'deadLetter';
  /** With `onError: deadLetter`: the topic that receives records that cannot be parsed. */
  deadLetterTopic?: string;
  /** Kafka client id. Default `tributary-<source>-<slot>`. */
  clientId?: string;
  /** Declared field types, used to type-check expressions. */
  schema?: Record<string, FieldType>;
  /** How often a running source looks for partitions added to its topic (duration). Default `30s`; `0` = never. */
  partitionDiscoveryInterval?: string;
  /**
   * How long the brokers may refuse or not answer (the consumer, the partition discovery, the first lookup) before
   * the source fails with TRIB_CONNECTOR_FAILED and the job restarts from its latest checkpoint (duration). Default
   * `30s`.
   */
  brokerUnreachableTimeout?: string;
  /**
   * How long the source waits for its topic while it does not exist (not created yet, or deleted) before it fails
   * with TRIB_CONNECTOR_FAILED (duration). Default `5m`; `0` = fail at once.
   */
  topicMissingTimeout?: string;
  /**
   * How long one request of the source's Kafka clients (metadata, offsets, group calls; not a fetch's long poll)
   * waits for a broker that accepted the connection but does not answer, e.g. a hung one (duration, kafkajs's
   * `requestTimeout`). Default `30s`; at most `brokerUnreachableTimeout`.
   */
  requestTimeout?: string;
}

export interface DatagenFieldSpec {
  /** The field's generator: `int`, `double`, `string`, `bool`, `sequence` (0, 1, 2, …) or `timestamp` (event time). */
  type: 'int' | 'double' | 'string' | 'bool' | 'sequence' | 'timestamp';
  /** Lower bound of `int` and `double` values. */
  min?: number;
  /** Upper bound of `int` and `double` values. */
  max?: number;
  /** Values to pick from, uniformly. */
  values?: (string | number | boolean)[];
  /** Strings: `${prefix}${n}` with n uniform in [0, cardinality). */
  prefix?: string;
  /** Strings: how many distinct ones (`${prefix}0` … `${prefix}<cardinality-1>`). */
  cardinality?: number;
}

export interface DatagenSourceSpec {
  /** `nexmark` (the Nexmark benchmark's persons, auctions and bids) or `schema` (records of `fields`). */
  generator: 'nexmark' | 'schema';
  /** Seed of the pseudo-random generator: the same seed gives the same records. Default 42. */
  seed?: number;
  /** Records per second across all slots; omitted = as fast as possible. */
  rate?: number;
  /** Total records across all slots; omitted = unbounded. */
  count?: number;
  /** Event time of record 0 (epoch ms). Default: job start time. Record i is at startTime + i*1000/eventRate. */
  startTime?: number;
  /** Event-time records per second used for timestamps; defaults to `rate`, or 1000 when no rate. */
  eventRate?: number;
  /** nexmark only: which event kinds to emit. Default all (person:auction:bid = 1:3:46). */
  events?: ('person' | 'auction' | 'bid')[];
  /** schema only: field generators. */
  fields?: Record<string, DatagenFieldSpec>;
}

export interface FileSourceSpec {
  /** Path of the file inside the slot pods (process mode: on the node). */
  path: string;
  /** How a line is read: `json` (default; JSON lines), `string` or `bytes`. */
  format?: RecordFormat;
  /** A line that cannot be parsed: `skip` it (default; counted) or `fail` the job. */
  onError?: 'skip' | 'fail';
  /** Declared field types, used to type-check expressions. */
  schema?: Record<string, FieldType>;
}

export interface CollectionSourceSpec {
  /** Objects (records with fields); or, with `values`, any JSON values. Exactly one of the two. */
  records?: Record<string, unknown>[];
  /** Elements of any JSON type, each emitted as it is (the TypeScript API's fromCollection of numbers, strings). */
  values?: unknown[];
  /** Declared field types, used to type-check expressions. Default: inferred from the records. */
  schema?: Record<string, FieldType>;
}

export interface DruidSourceSpec {
  /** Druid router or broker, e.g. http://druid-router:8888 (SQL at POST /druid/v2/sql). */
  url: string;
  /** Druid SQL. As a source: run once, its rows are the (bounded) stream. */
  query: string;
  /** Only for a source read by `lookup` steps: how often the table is re-queried. Default 1m. */
  refresh?: string;
  /** HTTP timeout of one query. Default 30s. */
  timeout?: string;
  /**
   * Only for a lookup table: how long Druid may be unreachable or answer 5xx (the first load,
   * or refreshes while the last table is served) before the job fails with
   * TRIB_LOOKUP_UNAVAILABLE. Default 5m.
   */
  unavailableTimeout?: string;
}

export interface KafkaSinkSpec {
  /** Kafka bootstrap brokers: "host:port,host:port" or a list of "host:port". */
  brokers: string[] | string;
  /** The topic to write to. */
  topic: string;
  /**
   * CEL expression for the message key; default none. Written as its string (JSON for a non-string), or with
   * `keyFormat` encoded with `registry.keySchema` (a map for a record schema; null: no key).
   */
  key?: string;
  /**
   * How a record is written: `json` (default), `string`, or through the schema registry (`registry`): `avro`,
   * `protobuf`, `json-schema`.
   */
  format?: 'json' | 'string' | 'avro' | 'protobuf' | 'json-schema';
  /** With `format: avro | protobuf | json-schema` (required then): the schema registry and the writer schema. */
  registry?: SchemaRegistrySpec;
  /**
   * How the message key is written, with a registry `format` only: `avro`, `protobuf` or `json-schema`, the `key`
   * expression's value encoded with `registry.keySchema` (subject `<topic>-key`). Absent: the key as a string.
   */
  keyFormat?: RegistryFormat;
  /** Kafka client id. Default `tributary-<sink>-<slot>`. */
  clientId?: string;
  /**
   * `exactly-once`: Kafka transactions committed when a checkpoint completes (read_committed
   * readers see each record once); written explicitly, a job without checkpoints refuses to
   * start. `at-least-once`: plain sends (duplicates possible after a restart). Default:
   * exactly-once when the job takes checkpoints, else at-least-once (connectors/sink-delivery.ts).
   */
  delivery?: 'exactly-once' | 'at-least-once';
  /** Prefix of the transactional ids (`<prefix>-<slot>-<n>`); default `tributary-<job>-<sink>`. Unique per job. */
  transactionalIdPrefix?: string;
  /** Kafka transaction timeout (ms, ≤ the broker's transaction.max.timeout.ms); default 900000. */
  transactionTimeoutMs?: number;
  /**
   * Exactly-once: how long the brokers may refuse or not answer while the sink recovers its
   * transactions at start (commits the restored checkpoint's, fences earlier runs') before it
   * fails with TRIB_SINK_COMMIT_FAILED; meanwhile it warns and reports the outage. Default 30s.
   */
  brokerUnreachableTimeout?: string;
  /**
   * How long one request of the sink's Kafka clients (a send, a transaction's calls, metadata) waits for a broker
   * that accepted the connection but does not answer, e.g. a hung one, before it fails and is retried (duration,
   * kafkajs's `requestTimeout`). Default `30s`; at most `brokerUnreachableTimeout`.
   */
  requestTimeout?: string;
  /**
   * How often a request that failed retriably (a timeout, a refused connection, a moved leader) is retried before
   * the send fails the job: kafkajs's `retry.retries`, backoff 0.3 s doubling (±20 %). Integer ≥ 1. Default 5
   * (about 9 s of backoff): a send to a hung broker fails after about (retries + 1) × requestTimeout + backoff.
   */
  retries?: number;
}

export interface ConsoleSinkSpec {
  /** Prefix each line with the sink name. Default false. */
  prefix?: boolean;
}

export interface FileSinkSpec {
  /** JSON lines. `{slot}` in the path gives one file per slot. */
  path: string;
}

export interface DruidSinkSpec {
  /** A DruidDatasource in the StreamJob's namespace. */
  datasourceRef: string;
  /**
   * The datasource's Kafka topic. The operator fills it from the DruidDatasource
   * (spec.kafka.bootstrapServers/topic) in the JobConfig it hands the slots; `tributary run`
   * needs it written inline. Absent at start = TRIB_CONNECTOR_UNSUPPORTED naming the field.
   */
  kafka?: {
    /** Kafka bootstrap brokers: "host:port,host:port" or a list of "host:port". */
    brokers: string[] | string;
    /** The datasource's topic. */
    topic: string;
  };
  /** The datasource's timestamp column (operator-filled from spec.timestamp); rows without it get one. */
  timestamp?: {
    /** The column holding the row's time. */
    column: string;
    /** How Druid reads it (the DruidDatasource's spec.timestamp.format). */
    format?: 'millis' | 'iso' | 'auto' | 'posix' | 'micro' | 'nano';
  };
  /** Prefix of the Kafka transactional ids; default `tributary-<job>-<sink>`. */
  transactionalIdPrefix?: string;
  /** As the Kafka sink's `delivery` (it is the Kafka sink underneath). */
  delivery?: 'exactly-once' | 'at-least-once';
}
