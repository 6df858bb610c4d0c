// TEST-ONLY: what a StreamJob left where its state lives, read from outside the job: the
// objects under its S3 location (s3://<bucket>/<prefix>/<namespace>/<name>, read with the S3
// SDK), or the folder of its PVC on the local cluster's node (<cluster dir>/node/pvcs/<ns>/<claim>).
// A checkpoint or savepoint counts as completed only when its `_metadata.json` (the commit
// point, docs/runtime/checkpoint-format.md) exists and parses; paths are the ones the runtime
// reports (status, restoredFrom): the s3:// URI, or the in-pod path under the mount.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyOf, listKeys, readObject } from '../../../../../test/harness/s3-state-storage.ts';
import { ErrorCodes, OperatorError } from '../../../kube/index.ts';

export interface CompletedState {
  id: number;
  kind: 'checkpoint' | 'savepoint';
  /** As the runtime reports it: `s3://…/savepoints/sp-8` or `/state/savepoints/sp-8`. */
  path: string;
  triggeredAt: number;
}

export interface JobStateView {
  /** The job's state location as the runtime sees it (its stateDir). */
  readonly location: string;
  /** Names (`sp-<id>`) of the savepoint folders present, committed or not, sorted. */
  savepointNames(): Promise<string[]>;
  /** Completed checkpoints and savepoints, by id. */
  completed(): Promise<CompletedState[]>;
  /** Whether the checkpoint or savepoint at `path` (as reported) has its `_metadata.json`. */
  committed(path: string): Promise<boolean>;
}

const folders = { checkpoints: 'chk-', savepoints: 'sp-' } as const;
const kindOf = { checkpoints: 'checkpoint', savepoints: 'savepoint' } as const;

interface Backing {
  /** Names of the entries directly under `sub` (checkpoints or savepoints). */
  list(sub: string): Promise<string[]>;
  /** Text of `<location>/<rel>`, undefined when missing. */
  read(rel: string): Promise<string | undefined>;
}

function view(location: string, b: Backing): JobStateView {
  const relOf = (path: string) => {
    if (!path.startsWith(`${location}/`))
      throw new OperatorError(ErrorCodes.TEST_HARNESS, `${path} is not under the job's state at ${location}`);
    return path.slice(location.length + 1);
  };
  // A committed `_metadata.json` never changes (only its deletion can follow): read each once.
  const seen = new Map<string, CompletedState>();
  return {
    location,
    async savepointNames() {
      return (await b.list('savepoints')).filter((n) => n.startsWith(folders.savepoints)).sort();
    },
    async completed() {
      const out: CompletedState[] = [];
      for (const sub of ['checkpoints', 'savepoints'] as const) {
        for (const n of (await b.list(sub)).filter((x) => x.startsWith(folders[sub]))) {
          const path = `${location}/${sub}/${n}`;
          const known = seen.get(path);
          if (known) {
            out.push(known);
            continue;
          }
          const text = await b.read(`${sub}/${n}/_metadata.json`);
          if (text === undefined) continue; // not completed
          const m = JSON.parse(text) as { checkpointId: number; triggeredAt: string };
          const c: CompletedState = {
            id: m.checkpointId,
            kind: kindOf[sub],
            path,
            triggeredAt: Date.parse(m.triggeredAt),
          };
          seen.set(path, c);
          out.push(c);
        }
      }
      return out.sort((a, b) => a.id - b.id);
    },
    async committed(path) {
      return (await b.read(`${relOf(path)}/_metadata.json`)) !== undefined;
    },
  };
}

/** The state of a job on S3 at `location` (an s3:// URI in the local cluster's bucket). */
export function s3JobState(location: string): JobStateView {
  const root = keyOf(location);
  return view(location, {
    async list(sub) {
      const names = new Set<string>();
      for (const k of await listKeys(`${root}/${sub}`)) {
        const name = k.slice(root.length + sub.length + 2).split('/')[0];
        if (name) names.add(name);
      }
      return [...names];
    },
    read: (rel) => readObject(`${root}/${rel}`),
  });
}

/** The state of a job on PVC folder `claim` of namespace `ns`, mounted at `mount` in its pods. */
export function pvcJobState(clusterDir: string, ns: string, claim: string, mount = '/state'): JobStateView {
  const dir = join(clusterDir, 'node', 'pvcs', ns, claim);
  const missing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';
  return view(mount, {
    async list(sub) {
      try {
        return readdirSync(join(dir, sub));
      } catch (err) {
        if (missing(err)) return [];
        throw err;
      }
    },
    async read(rel) {
      try {
        return readFileSync(join(dir, rel), 'utf8');
      } catch (err) {
        if (missing(err)) return undefined;
        throw err;
      }
    },
  });
}
