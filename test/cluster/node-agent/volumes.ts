// Pod volumes as local folders (see README.md, "Filesystem model"):
//   emptyDir                <podDir>/volumes/<volume>/            shared by the pod's containers
//   configMap/secret/
//   projected/downwardAPI   <podDir>/volumes/<volume>/            written atomically (..data swap),
//                                                                 re-synced every 30s
//   persistentVolumeClaim   <pods-dir>/../pvcs/<ns>/<claim>/      survives the pod
//   hostPath                the host path itself
// A container's volumeMount is a symlink at <podRoot><mountPath> to that folder (or to
// <folder>/<subPath>). readOnly is not enforced. Service-account tokens come from the
// TokenRequest API, bound to the pod, and are refreshed at 80% of their lifetime.
import { chmod, chown, lstat, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { writeAtomically } from './atomic-writer.ts';
import type { Payload } from './atomic-writer.ts';
import { fieldRefValue, resourceFieldValue } from './env.ts';
import type { EnvLookups, PodFacts } from './env.ts';
import { NodeAgentError, errorMessage } from './errors.ts';
import type { KubeApi } from './kube-api.ts';
import type { ConfigMap, Container, Json, Pod, Secret, Volume } from './kube-types.ts';
import type { V1KeyToPath, V1DownwardAPIVolumeFile, V1ServiceAccountTokenProjection } from '@kubernetes/client-node';

type KeyToPath = Json<V1KeyToPath>;
type DownwardFile = Json<V1DownwardAPIVolumeFile>;
type TokenProjection = Json<V1ServiceAccountTokenProjection>;

const DEFAULT_MODE = 0o644;

export interface PodPaths {
  podDir: string;
  podRoot: string;
  /** `<pods-dir>/../pvcs` */
  pvcRoot: string;
}

interface CachedToken {
  token: string;
  issuedAt: number;
  expiresAt: number;
}

export interface VolumeContext {
  api: KubeApi;
  lookups: EnvLookups;
  log: Logger;
}

export class PodVolumes {
  readonly #pod: () => Pod;
  readonly #paths: PodPaths;
  readonly #ctx: VolumeContext;
  readonly #facts: () => PodFacts;
  readonly #tokens = new Map<string, CachedToken>();
  #mountLock: Promise<void> = Promise.resolve();

  constructor(pod: () => Pod, paths: PodPaths, facts: () => PodFacts, ctx: VolumeContext) {
    this.#pod = pod;
    this.#paths = paths;
    this.#facts = facts;
    this.#ctx = ctx;
  }

  volumeDir(volume: Volume): string {
    if (volume.persistentVolumeClaim) {
      const ns = this.#pod().metadata?.namespace ?? 'default';
      return join(this.#paths.pvcRoot, ns, volume.persistentVolumeClaim.claimName);
    }
    if (volume.hostPath) return volume.hostPath.path;
    return join(this.#paths.podDir, 'volumes', volume.name);
  }

  /**
   * Materializes every volume of the pod. Idempotent: called before the first container
   * starts and again on each re-sync. Throws NODE_AGENT_VOLUME naming the failing volume.
   */
  async sync(): Promise<void> {
    for (const volume of this.#pod().spec?.volumes ?? []) {
      try {
        await this.#syncVolume(volume);
      } catch (err) {
        if (err instanceof NodeAgentError && err.code === 'NODE_AGENT_VOLUME') throw err;
        throw new NodeAgentError(
          'NODE_AGENT_VOLUME',
          `MountVolume.SetUp failed for volume "${volume.name}": ${errorMessage(err)}`,
          { cause: err },
        );
      }
    }
  }

  async #syncVolume(volume: Volume): Promise<void> {
    const dir = this.volumeDir(volume);
    const ns = this.#pod().metadata?.namespace ?? 'default';
    if (volume.emptyDir || volume.persistentVolumeClaim) {
      await mkdir(dir, { recursive: true });
    } else if (volume.hostPath) {
      const type = volume.hostPath.type ?? '';
      if (type === 'DirectoryOrCreate') await mkdir(dir, { recursive: true });
    } else if (volume.configMap) {
      const { name = '', items, optional, defaultMode } = volume.configMap;
      const cm = await this.#ctx.lookups.configMap(ns, name);
      if (!cm && !optional) throw new NodeAgentError('NODE_AGENT_VOLUME_CONTENT', `configmap "${name}" not found`);
      const payload: Payload = new Map();
      if (cm)
        addKeys(payload, configMapData(cm), items, defaultMode ?? DEFAULT_MODE, `ConfigMap ${ns}/${name}`, optional);
      await writeAtomically(dir, payload);
    } else if (volume.secret) {
      const { secretName = '', items, optional, defaultMode } = volume.secret;
      const secret = await this.#ctx.lookups.secret(ns, secretName);
      if (!secret && !optional)
        throw new NodeAgentError('NODE_AGENT_VOLUME_CONTENT', `secret "${secretName}" not found`);
      const payload: Payload = new Map();
      if (secret)
        addKeys(
          payload,
          secretData(secret),
          items,
          defaultMode ?? DEFAULT_MODE,
          `Secret ${ns}/${secretName}`,
          optional,
        );
      await writeAtomically(dir, payload);
    } else if (volume.downwardAPI) {
      const payload: Payload = new Map();
      this.#addDownward(payload, volume.downwardAPI.items ?? [], volume.downwardAPI.defaultMode ?? DEFAULT_MODE);
      await writeAtomically(dir, payload);
    } else if (volume.projected) {
      const payload: Payload = new Map();
      const mode = volume.projected.defaultMode ?? DEFAULT_MODE;
      for (const [i, source] of (volume.projected.sources ?? []).entries()) {
        if (source.serviceAccountToken) {
          const token = await this.#token(`${volume.name}/${i}`, source.serviceAccountToken);
          payload.set(source.serviceAccountToken.path, { data: token, mode });
        } else if (source.configMap) {
          const { name = '', items, optional } = source.configMap;
          const cm = await this.#ctx.lookups.configMap(ns, name);
          if (!cm && !optional) throw new NodeAgentError('NODE_AGENT_VOLUME_CONTENT', `configmap "${name}" not found`);
          if (cm) addKeys(payload, configMapData(cm), items, mode, `ConfigMap ${ns}/${name}`, optional);
        } else if (source.secret) {
          const { name = '', items, optional } = source.secret;
          const secret = await this.#ctx.lookups.secret(ns, name);
          if (!secret && !optional) throw new NodeAgentError('NODE_AGENT_VOLUME_CONTENT', `secret "${name}" not found`);
          if (secret) addKeys(payload, secretData(secret), items, mode, `Secret ${ns}/${name}`, optional);
        } else if (source.downwardAPI) {
          this.#addDownward(payload, source.downwardAPI.items ?? [], mode);
        } else {
          this.#ctx.log.warn({ volume: volume.name }, 'unsupported projected volume source ignored');
        }
      }
      await writeAtomically(dir, payload);
    } else {
      throw new NodeAgentError(
        'NODE_AGENT_VOLUME',
        `volume "${volume.name}" has a type the node agent does not support (supported: emptyDir, configMap, secret, projected, downwardAPI, persistentVolumeClaim, hostPath)`,
      );
    }
  }

  #addDownward(payload: Payload, items: DownwardFile[], defaultMode: number): void {
    const pod = this.#pod();
    const facts = this.#facts();
    for (const item of items) {
      let value: string;
      if (item.fieldRef) value = fieldRefValue(pod, item.fieldRef.fieldPath, facts);
      else if (item.resourceFieldRef) {
        const ref = item.resourceFieldRef;
        const container = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find(
          (c) => c.name === ref.containerName,
        );
        value = resourceFieldValue(container, ref.resource, ref.divisor, facts);
      } else continue;
      payload.set(item.path, { data: value, mode: item.mode ?? defaultMode });
    }
  }

  /** A pod-bound token from the TokenRequest API; re-requested after 80% of its lifetime. */
  async #token(key: string, source: TokenProjection): Promise<string> {
    const now = Date.now();
    const cached = this.#tokens.get(key);
    if (cached && now < cached.issuedAt + 0.8 * (cached.expiresAt - cached.issuedAt)) return cached.token;
    const pod = this.#pod();
    const ns = pod.metadata?.namespace ?? 'default';
    const sa = pod.spec?.serviceAccountName || 'default';
    const expirationSeconds = source.expirationSeconds ?? 3600;
    let res: { status?: { token?: string; expirationTimestamp?: string } };
    try {
      res = await this.#ctx.api.post(`/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          audiences: source.audience ? [source.audience] : [],
          expirationSeconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, uid: pod.metadata?.uid },
        },
      });
    } catch (cause) {
      throw new NodeAgentError(
        'NODE_AGENT_TOKEN',
        `cannot request a token for service account ${ns}/${sa}: ${errorMessage(cause)}`,
        { cause },
      );
    }
    const token = res.status?.token;
    if (!token) throw new NodeAgentError('NODE_AGENT_TOKEN', `TokenRequest for ${ns}/${sa} returned no token`);
    const expiresAt = res.status?.expirationTimestamp
      ? Date.parse(res.status.expirationTimestamp)
      : now + expirationSeconds * 1000;
    this.#tokens.set(key, { token, issuedAt: now, expiresAt });
    return token;
  }

  /**
   * Container mode: each volumeMount as a bind mount (host folder → mountPath). emptyDir and
   * PVC folders are made world-writable as the kubelet makes emptyDirs (0777), and volume
   * folders are group-owned by the pod's fsGroup, so a non-root container can use them.
   */
  async bindMounts(container: Container): Promise<{ host: string; mountPath: string; readOnly: boolean }[]> {
    const volumes = new Map((this.#pod().spec?.volumes ?? []).map((v) => [v.name, v]));
    const fsGroup = this.#pod().spec?.securityContext?.fsGroup;
    const out: { host: string; mountPath: string; readOnly: boolean }[] = [];
    for (const m of container.volumeMounts ?? []) {
      const volume = volumes.get(m.name);
      if (!volume)
        throw new NodeAgentError('NODE_AGENT_VOLUME', `container ${container.name} mounts unknown volume "${m.name}"`);
      let host = this.volumeDir(volume);
      if (volume.emptyDir || volume.persistentVolumeClaim) await chmod(host, 0o777);
      if (fsGroup !== undefined && !volume.hostPath) await chownTree(host, fsGroup);
      if (m.subPath) {
        host = join(host, m.subPath);
        await mkdir(host, { recursive: true, mode: 0o777 });
      }
      out.push({ host, mountPath: m.mountPath, readOnly: m.readOnly === true });
    }
    return out;
  }

  /**
   * Creates `<podRoot><mountPath>` symlinks for a container's volumeMounts (parents first, so a
   * mount nested in another lands inside the outer volume, as an overlay mount would).
   */
  mount(container: Container): Promise<void> {
    // Containers of a pod are prepared concurrently and share the pod root: one at a time.
    const next = this.#mountLock.then(() => this.#mount(container));
    this.#mountLock = next.catch(() => undefined);
    return next;
  }

  async #mount(container: Container): Promise<void> {
    const volumes = new Map((this.#pod().spec?.volumes ?? []).map((v) => [v.name, v]));
    const mounts = [...(container.volumeMounts ?? [])].sort((a, b) => a.mountPath.length - b.mountPath.length);
    for (const m of mounts) {
      const volume = volumes.get(m.name);
      if (!volume)
        throw new NodeAgentError('NODE_AGENT_VOLUME', `container ${container.name} mounts unknown volume "${m.name}"`);
      let target = this.volumeDir(volume);
      if (m.subPath) {
        target = join(target, m.subPath);
        await mkdir(target, { recursive: true });
      }
      const link = join(this.#paths.podRoot, m.mountPath);
      await mkdir(dirname(link), { recursive: true });
      let existing: string | undefined;
      try {
        existing = await readlink(link);
      } catch {
        existing = undefined;
      }
      if (existing === target) continue;
      if (existing !== undefined) {
        this.#ctx.log.warn(
          { container: container.name, mountPath: m.mountPath, existing, target },
          'mount path already used by another volume; replacing',
        );
      } else {
        try {
          const st = await lstat(link);
          if (st.isDirectory()) {
            this.#ctx.log.warn(
              { container: container.name, mountPath: m.mountPath },
              'mount path is a real folder; its content is hidden by the mount',
            );
          }
        } catch {
          // absent: the normal case
        }
      }
      await rm(link, { recursive: true, force: true });
      await symlink(target, link);
    }
  }
}

function configMapData(cm: ConfigMap): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm.data ?? {})) out.set(k, Buffer.from(v, 'utf8'));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out.set(k, Buffer.from(v, 'base64'));
  return out;
}

function secretData(secret: Secret): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(secret.data ?? {})) out.set(k, Buffer.from(v, 'base64'));
  return out;
}

function addKeys(
  payload: Payload,
  data: Map<string, Buffer>,
  items: KeyToPath[] | undefined,
  defaultMode: number,
  what: string,
  optional: boolean | undefined,
): void {
  if (items === undefined || items.length === 0) {
    for (const [k, v] of data) payload.set(k, { data: v, mode: defaultMode });
    return;
  }
  for (const item of items) {
    const v = data.get(item.key);
    if (v === undefined) {
      if (optional) continue;
      throw new NodeAgentError('NODE_AGENT_VOLUME_CONTENT', `couldn't find key ${item.key} in ${what}`);
    }
    payload.set(item.path, { data: v, mode: item.mode ?? defaultMode });
  }
}

/** root:gid on a folder and, for the small content volumes, everything in it (not symlinks). */
async function chownTree(dir: string, gid: number): Promise<void> {
  await chown(dir, 0, gid);
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  if (entries.length > 1000) return; // a state volume: the folder itself is enough
  for (const e of entries) if (!e.isSymbolicLink()) await chown(join(e.parentPath, e.name), 0, gid);
}
