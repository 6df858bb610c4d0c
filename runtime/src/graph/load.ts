// Reads a job file: a full StreamJob manifest (its spec.graph, replicas, maxParallelism,
// checkpointing, restore and stateBackend are used) or a bare graph. `--set path=value` edits
// the document before validation; paths starting with `graph.` address the graph in either form.
import { readFileSync } from 'node:fs';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { TributaryError } from '../errors.ts';
import { isObj, type Obj } from './checker.ts';

export interface LoadedJob {
  name: string;
  graph: unknown;
  replicas: number | undefined;
  maxParallelism: number | undefined;
  /** spec.checkpointing of a manifest: interval/timeout durations, retained count. */
  checkpointing?: {
    interval?: string;
    timeout?: string;
    retained?: number;
    tolerableFailedCheckpoints?: number;
    /** Absent: true (checkpoints write only what changed since the last completed one). */
    incremental?: boolean;
  };
  /** spec.stateBackend of a manifest, as written (checked by cli/run-state-backend.ts). */
  stateBackend?: { type?: unknown; localVolumeSize?: unknown; cacheEntries?: unknown };
  /** spec.restore of a manifest. */
  restore?: { savepointPath?: string; allowNonRestoredState?: boolean };
  /** Where the graph sits in the document, used as the prefix of validation paths. */
  graphPath: string;
  /** The whole manifest, after the `--set` edits (a bare graph has none): what its CRD's schema checks. */
  manifest?: Obj;
}

export function loadJobFile(file: string, sets: string[] = []): LoadedJob {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TributaryError('TRIB_GRAPH_LOAD', `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  return loadJobText(text, sets, file);
}

export function loadJobText(text: string, sets: string[] = [], origin = '<input>'): LoadedJob {
  let doc: unknown;
  try {
    const docs = parseAllDocuments(text);
    const first = docs.find((d) => d.contents !== null);
    if (first && first.errors.length > 0) throw first.errors[0];
    doc = first?.toJS(); // undefined only when there is no document
  } catch (e) {
    throw new TributaryError('TRIB_GRAPH_LOAD', `${origin}: not valid YAML or JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (doc === undefined)
    throw new TributaryError('TRIB_GRAPH_LOAD', `${origin}: not valid YAML or JSON: the file is empty`);
  if (!isObj(doc))
    throw new TributaryError('TRIB_GRAPH_LOAD', `${origin}: expected a StreamJob manifest or a graph object`);
  const isManifest = doc['kind'] === 'StreamJob' || isObj(doc['spec']);
  for (const s of sets) applySet(doc, s, isManifest);
  if (isManifest) {
    const spec = doc['spec'];
    if (!isObj(spec))
      throw new TributaryError('TRIB_GRAPH_LOAD', `${origin}: spec: expected an object`, { path: 'spec' });
    const meta = isObj(doc['metadata']) ? doc['metadata'] : {};
    return {
      name: typeof meta['name'] === 'string' ? meta['name'] : 'job',
      graph: spec['graph'],
      replicas: typeof spec['replicas'] === 'number' ? spec['replicas'] : undefined,
      maxParallelism: typeof spec['maxParallelism'] === 'number' ? spec['maxParallelism'] : undefined,
      ...(isObj(spec['checkpointing']) ? { checkpointing: spec['checkpointing'] as LoadedJob['checkpointing'] } : {}),
      ...(isObj(spec['restore']) ? { restore: spec['restore'] as LoadedJob['restore'] } : {}),
      ...(spec['stateBackend'] !== undefined
        ? { stateBackend: spec['stateBackend'] as LoadedJob['stateBackend'] }
        : {}),
      graphPath: 'spec.graph',
      manifest: doc,
    };
  }
  const graph = isObj(doc['graph']) ? doc['graph'] : doc;
  return {
    name: 'job',
    graph,
    replicas: undefined,
    maxParallelism: undefined,
    graphPath: graph === doc ? 'graph' : 'graph',
  };
}

const SEGMENT = /([^.[\]]+)|\[(\d+)\]/g;

/**
 * `a.b[2].c=value`; the value is parsed as YAML (numbers, booleans, lists, quoted strings).
 * A bad override is a load error (TRIB_GRAPH_LOAD), like a bad file: the CLI exits 2.
 */
export function applySet(doc: Obj, assignment: string, isManifest: boolean): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new TributaryError('TRIB_GRAPH_LOAD', `--set ${assignment}: expected path=value`);
  let path = assignment.slice(0, eq).trim();
  const value = parseYaml(assignment.slice(eq + 1)) as unknown;
  if (isManifest && (path === 'graph' || path.startsWith('graph.') || path.startsWith('graph['))) path = `spec.${path}`;
  if (!isManifest && path.startsWith('graph.') && !isObj(doc['graph'])) path = path.slice('graph.'.length);
  const parts: (string | number)[] = [];
  for (const m of path.matchAll(SEGMENT)) parts.push(m[2] !== undefined ? Number(m[2]) : (m[1] as string));
  if (parts.length === 0) throw new TributaryError('TRIB_GRAPH_LOAD', `--set ${assignment}: empty path`);
  let cur: unknown = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const k = parts[i] as string | number;
    const next = (cur as Obj)[k as string];
    if (next === undefined || next === null || typeof next !== 'object') {
      if (typeof k === 'number' || typeof parts[i + 1] === 'number') {
        throw new TributaryError(
          'TRIB_GRAPH_LOAD',
          `--set ${assignment}: ${parts.slice(0, i + 1).join('.')} does not exist`,
        );
      }
      (cur as Obj)[k] = {};
    }
    cur = (cur as Obj)[k as string];
  }
  (cur as Obj)[parts[parts.length - 1] as string] = value;
}
