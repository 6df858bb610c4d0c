// The node agent: registers the Node, binds pending pods (scheduler.ts), and runs one
// PodWorker per pod bound to this node. Start-up reconciliation (the agent restarted):
//   - pods bound here that are not terminal get a fresh worker: processes a previous agent
//     left running are killed (pid files), the pod keeps its IP, and each container is
//     restarted per restartPolicy — Always/OnFailure run it again (restartCount + 1,
//     lastState reason NodeAgentRestarted); Never marks a container that was running as
//     terminated (exit 137, NodeAgentRestarted), so the pod ends Failed;
//   - pods being deleted are finished (containers stopped, object deleted with grace 0);
//   - pod folders under --pods-dir that belong to no current pod are cleaned up (their
//     processes killed, the folder removed).
// With --service-proxy-socket it also routes the API server's connections to Services
// (service-proxy.ts), the part of kube-proxy the API server needs (webhooks by Service).
import { mkdir, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { BackoffConfig } from './backoff.ts';
import { sleep } from './backoff.ts';
import { killRecordedProcesses } from './container-process.ts';
import { kubernetesServiceEnv } from './env.ts';
import type { EnvLookups } from './env.ts';
import { errorMessage, isApiStatus } from './errors.ts';
import { EventRecorder } from './events.ts';
import { loadImageMap } from './image-map.ts';
import { ResilientInformer } from './informer.ts';
import { IpAllocator } from './ip-allocator.ts';
import { KubeApi, loadKubeConfig } from './kube-api.ts';
import type { ConfigMap, Pod, Secret } from './kube-types.ts';
import { NodeRegistration, nodeLabels } from './node-registration.ts';
import { PodWorker, podDirName } from './pod-worker.ts';
import { Scheduler } from './scheduler.ts';
import { ServiceProxy } from './service-proxy.ts';

export interface AgentOptions {
  kubeconfig: string;
  nodeName: string;
  podsDir: string;
  logDir: string;
  podCidr: string;
  imageMapFile?: string;
  apiServer?: string;
  caFile?: string;
  backoff: BackoffConfig;
  /** Cap on each pod's grace period when the agent itself is stopped. */
  shutdownGraceMs: number;
  /** Unix socket of the API server's HTTP CONNECT route to Services; none when absent. */
  serviceProxySocket?: string;
  /** Bind only pods pinned here by a nodeSelector on kubernetes.io/hostname (scheduler.ts). */
  pinnedOnly?: boolean;
  log: Logger;
}

export class NodeAgent {
  readonly #o: AgentOptions;
  readonly #log: Logger;
  readonly #workers = new Map<string, PodWorker>();
  /** uids whose worker finished; late events for them are ignored. */
  readonly #finished = new Set<string>();
  #api: KubeApi | undefined;
  #informer: ResilientInformer<Pod> | undefined;
  #registration: NodeRegistration | undefined;
  #serviceProxy: ServiceProxy | undefined;
  #stopping = false;

  constructor(o: AgentOptions) {
    this.#o = o;
    this.#log = o.log;
  }

  async start(): Promise<void> {
    const o = this.#o;
    const podsDir = resolve(o.podsDir);
    const logDir = resolve(o.logDir);
    const pvcRoot = join(dirname(podsDir), 'pvcs');
    await mkdir(podsDir, { recursive: true });
    await mkdir(join(logDir, 'pods'), { recursive: true });
    await mkdir(pvcRoot, { recursive: true });

    const imageMap = loadImageMap(o.imageMapFile);
    const kc = loadKubeConfig(o.kubeconfig, o.apiServer, o.caFile);
    const api = await KubeApi.fromKubeConfig(kc);
    this.#api = api;
    const allocator = new IpAllocator(o.podCidr);
    const events = new EventRecorder(api, o.nodeName, this.#log);
    const lookups: EnvLookups = {
      configMap: (ns, name) => getOrUndefined<ConfigMap>(api, `/api/v1/namespaces/${ns}/configmaps/${name}`),
      secret: (ns, name) => getOrUndefined<Secret>(api, `/api/v1/namespaces/${ns}/secrets/${name}`),
    };
    this.#log.info(
      {
        server: api.server.href,
        nodeName: o.nodeName,
        podsDir,
        logDir,
        podCidr: o.podCidr,
        images: imageMap.map((e) => e.pattern),
      },
      'node agent starting',
    );

    if (o.serviceProxySocket) {
      this.#serviceProxy = new ServiceProxy({ socketPath: o.serviceProxySocket, api, log: this.#log });
      await this.#serviceProxy.start();
    }

    // The harness may start the agent right after the API server: wait for it.
    const registration = new NodeRegistration({ api, nodeName: o.nodeName, podCidr: o.podCidr, log: this.#log });
    this.#registration = registration;
    for (let attempt = 0; ; attempt++) {
      if (this.#stopping) return;
      try {
        await registration.register();
        break;
      } catch (err) {
        this.#log.warn({ err: errorMessage(err), attempt }, 'node registration failed; retrying');
        await sleep(Math.min(5000, 250 * 2 ** attempt));
      }
    }

    const scheduler = new Scheduler(api, o.nodeName, nodeLabels(o.nodeName), this.#log, {
      pinnedOnly: o.pinnedOnly ?? false,
    });
    const deps = {
      api,
      nodeName: o.nodeName,
      podsDir,
      logDir,
      pvcRoot,
      imageMap,
      imageMapSource: o.imageMapFile ? `${o.imageMapFile} + defaults` : 'defaults only; pass --image-map <json>',
      serviceEnv: kubernetesServiceEnv(api.host, api.port),
      lookups,
      allocator,
      nodeAllocatable: { cpu: 2, memory: os.totalmem(), 'ephemeral-storage': 100 * 2 ** 30 },
      backoff: o.backoff,
      events,
      log: this.#log,
      onDone: (uid: string) => {
        this.#workers.delete(uid);
        this.#finished.add(uid);
      },
    };

    const informer = new ResilientInformer<Pod>({ kc, api, path: '/api/v1/pods', log: this.#log });
    this.#informer = informer;
    const onPod = (pod: Pod) => {
      if (this.#stopping) return;
      scheduler.consider(pod);
      if (pod.spec?.nodeName !== o.nodeName) return;
      const uid = pod.metadata?.uid ?? '';
      if (!uid || this.#finished.has(uid)) return;
      const existing = this.#workers.get(uid);
      if (existing) {
        existing.update(pod);
        return;
      }
      const phase = pod.status?.phase;
      const terminal = phase === 'Succeeded' || phase === 'Failed';
      const deleting = pod.metadata?.deletionTimestamp !== undefined;
      if (terminal && !deleting) return; // nothing to run; its deletion is finished later
      const worker = new PodWorker(pod, deps);
      this.#workers.set(uid, worker);
      if (deleting) worker.update(pod);
      else worker.start();
    };
    informer.on('add', onPod);
    informer.on('update', onPod);
    informer.on('delete', (pod: Pod) => {
      const uid = pod.metadata?.uid ?? '';
      scheduler.forget(uid);
      this.#workers.get(uid)?.objectDeleted();
      // Keep #finished bounded: once the object is gone no more events come for the uid.
      this.#finished.delete(uid);
    });
    informer.start();
    await informer.waitForSync();
    this.#log.info({ pods: this.#workers.size }, 'pods synced');
    await this.#cleanOrphanPodDirs(podsDir);
  }

  /** Pod folders of pods that no longer exist: kill their leftover processes, remove them. */
  async #cleanOrphanPodDirs(podsDir: string): Promise<void> {
    const known = new Set([...this.#workers.values()].map((w) => podDirName(w.pod)));
    for (const pod of this.#informer?.list() ?? [])
      if (pod.spec?.nodeName === this.#o.nodeName) known.add(podDirName(pod));
    for (const name of await readdir(podsDir).catch(() => [] as string[])) {
      if (known.has(name)) continue;
      const dir = join(podsDir, name);
      const killed = await killRecordedProcesses(dir, 2000);
      this.#log.info({ dir, killed }, 'removing folder of a pod that no longer exists');
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Stops every container (SIGTERM → grace, capped → SIGKILL) and the heartbeats. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#informer?.stop();
    const workers = [...this.#workers.values()];
    this.#log.info({ pods: workers.length }, 'node agent stopping; stopping all containers');
    await Promise.all(workers.map((w) => w.shutdown(this.#o.shutdownGraceMs)));
    this.#registration?.stop();
    await this.#serviceProxy?.stop().catch(() => undefined);
    await this.#api?.close().catch(() => undefined);
    this.#log.info('node agent stopped');
  }
}

async function getOrUndefined<T>(api: KubeApi, path: string): Promise<T | undefined> {
  try {
    return await api.get<T>(path);
  } catch (err) {
    if (isApiStatus(err, 404)) return undefined;
    throw err;
  }
}
