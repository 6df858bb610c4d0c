// How a slot pod reaches its job's state: on s3, the runtime's TRIBUTARY_S3_* environment (keys
// from the opted-in Secret by reference, so they never pass through the operator or the pod
// spec); on a pvc or emptyDir, the volume mounted at stateStorage.path. Pure.
import { parseDuration } from '../../../../../runtime/src/graph/duration.ts';
import type { EffectiveStateStorage } from '../state-storage.ts';

/** Secret keys read when credentialsSecretRef names no others. */
export const DEFAULT_ACCESS_KEY_ID_KEY = 'accessKeyId';
export const DEFAULT_SECRET_ACCESS_KEY_KEY = 'secretAccessKey';

export interface StateAccess {
  readonly env: Record<string, unknown>[];
  readonly volume?: Record<string, unknown>;
  readonly mount?: Record<string, unknown>;
}

export function stateAccess(storage: EffectiveStateStorage): StateAccess {
  if (storage.kind === 'pvc')
    return {
      env: [],
      volume: { name: 'state', persistentVolumeClaim: { claimName: storage.claimName } },
      mount: { name: 'state', mountPath: storage.path },
    };
  if (storage.kind === 'emptyDir')
    return {
      env: [],
      volume: { name: 'state', emptyDir: storage.emptyDir },
      mount: { name: 'state', mountPath: storage.path },
    };
  const { s3 } = storage;
  const ref = s3.credentialsSecretRef;
  const fromSecret = (key: string) => ({ valueFrom: { secretKeyRef: { name: ref!.name, key } } });
  // Without a Secret the runtime uses the AWS SDK's default chain (the pod's cloud identity).
  return {
    env: [
      ...(s3.endpoint ? [{ name: 'TRIBUTARY_S3_ENDPOINT', value: s3.endpoint }] : []),
      ...(s3.region ? [{ name: 'TRIBUTARY_S3_REGION', value: s3.region }] : []),
      ...(s3.pathStyle !== undefined ? [{ name: 'TRIBUTARY_S3_PATH_STYLE', value: String(s3.pathStyle) }] : []),
      ...(s3.requestTimeout !== undefined
        ? [{ name: 'TRIBUTARY_S3_REQUEST_TIMEOUT_MS', value: String(parseDuration(s3.requestTimeout)) }]
        : []),
      ...(ref
        ? [
            { name: 'TRIBUTARY_S3_ACCESS_KEY_ID', ...fromSecret(ref.accessKeyIdKey ?? DEFAULT_ACCESS_KEY_ID_KEY) },
            {
              name: 'TRIBUTARY_S3_SECRET_ACCESS_KEY',
              ...fromSecret(ref.secretAccessKeyKey ?? DEFAULT_SECRET_ACCESS_KEY_KEY),
            },
          ]
        : []),
    ],
  };
}
