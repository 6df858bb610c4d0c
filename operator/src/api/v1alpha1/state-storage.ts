// A StreamJob's spec.stateStorage: where checkpoints and savepoints live. Part of the API's
// source of truth (streamjob.ts says how the CRD is generated from it).

/** Where checkpoints and savepoints live: object storage (s3), a volume (pvc) or pod-local (emptyDir). */
export interface StateStorage {
  /**
   * An existing PersistentVolumeClaim in the job's namespace. Every slot pod mounts it and restores read every
   * slot's files, so with replicas > 1 it must be mountable by all of them (ReadWriteMany, or all pods on one
   * node). It survives pods and the StreamJob.
   */
  pvc?: {
    /**
     * Name of the PersistentVolumeClaim.
     * @maxLength 253
     */
    claimName: string;
  };
  /**
   * An emptyDir volume source (e.g. {sizeLimit: 1Gi}). Each pod has its own, deleted with the pod: no checkpoint
   * or savepoint survives a restart, rescale, upgrade, suspend or deletion. Only for upgradeMode stateless.
   */
  emptyDir?: Record<string, unknown>;
  /**
   * S3-compatible object storage. The job's state lives under s3://<bucket>/<prefix>/<namespace>/<name>/
   * (checkpoints/chk-<id>, savepoints/sp-<id>); paths in status and restore.savepointPath are s3:// URIs.
   */
  s3?: S3StateStorage;
  /**
   * Absolute mount path of the pvc or emptyDir in the slot pods: the runtime's state directory
   * (<path>/checkpoints/chk-<id>, <path>/savepoints/sp-<id>). Paths in status and restore.savepointPath are under
   * it. Unused with s3. Default /state.
   * @default /state
   * @maxLength 1024
   */
  path: string;
  /**
   * Delete (default): the objects or files of checkpoints beyond checkpointing.retained and of savepoints beyond
   * savepoints.historyLimit are deleted, and a sweep (after each recorded savepoint and every 10 minutes) deletes
   * savepoint folders of this job that nothing references any more: never one that status or
   * spec.restore.savepointPath names, one newer than the newest recorded, or one taken before this StreamJob was
   * created (an earlier job of the same name left it, e.g. its final savepoint). Retain: nothing is ever deleted
   * (they only leave status; the runtime refuses deletion); clean up with bucket lifecycle rules.
   */
  retention?: 'Delete' | 'Retain';
}

/** The job's state lives under s3://bucket/<prefix>/<namespace>/<name>/. */
export interface S3StateStorage {
  /**
   * An existing bucket.
   * @minLength 3
   * @maxLength 63
   * @pattern ^[a-z0-9][a-z0-9.-]*[a-z0-9]$
   */
  bucket: string;
  /**
   * Key prefix inside the bucket (no leading '/'); the job's namespace and name follow it.
   * @maxLength 512
   */
  prefix?: string;
  /**
   * http(s)://host[:port] of an S3-compatible server (MinIO, Ceph, versitygw, ...). Default: AWS S3 of the region.
   * @maxLength 512
   */
  endpoint?: string;
  /**
   * Region of the bucket. Default us-east-1 (or the pod's AWS_REGION).
   * @maxLength 64
   */
  region?: string;
  /**
   * Path-style addressing (https://host/bucket/key). Default true when endpoint is set, else false (virtual-hosted
   * style, as AWS expects).
   */
  pathStyle?: boolean;
  /**
   * How long one S3 request may receive nothing (no response, no bytes) before it has stalled, a duration (units
   * ms, s, m, h; 100ms to 1h). Only idle time counts, so a large state read or written slowly is never cut off. A
   * stalled read (a restore's metadata or state files) fails the slot's start with TRIB_STATE_STORAGE naming the
   * storage, the object and this bound, after warnings (the restart policy retries); a stalled write, listing or
   * delete fails that request (the SDK retries it; a checkpoint also ends at checkpointing.timeout). Default 2m.
   * @maxLength 32
   * @duration
   */
  requestTimeout?: string;
  /**
   * A Secret in the job's namespace with the access key id and secret access key. It must carry the label
   * tributary.dev/credentials: "true" (other Secrets are never used). Absent: the AWS SDK's default chain in the
   * slot pods (the pod's cloud identity, e.g. IRSA or workload identity).
   */
  credentialsSecretRef?: {
    /**
     * Name of the Secret.
     * @maxLength 253
     */
    name: string;
    /**
     * Key of the access key id (default accessKeyId).
     * @maxLength 253
     */
    accessKeyIdKey?: string;
    /**
     * Key of the secret access key (default secretAccessKey).
     * @maxLength 253
     */
    secretAccessKeyKey?: string;
  };
}
