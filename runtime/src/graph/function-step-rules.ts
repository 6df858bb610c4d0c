// Rules of a `function` step (a function of the job's code, see FunctionStepSpec): its kind,
// the name it is registered under, a keyed input for the keyed kinds, its window, and a
// mapAsync's capacity and timeout. The function itself is looked up when the job is built (its
// code is not part of the spec).
import { isObj, show, type Checker } from './checker.ts';
import { checkWindow, requireKeyed } from './keyed-rules.ts';
import { FUNCTION_STEP_KINDS } from './spec.ts';
import type { NodeInfo } from './validated-graph.ts';

const KEYED = new Set<string>(['process', 'reduce', 'aggregate']);

export function validateFunctionStep(
  c: Checker,
  v: unknown,
  p: string,
  path: string,
  node: NodeInfo,
  in0: NodeInfo,
): void {
  if (!isObj(v)) {
    c.add(
      p,
      `expected {kind: ${FUNCTION_STEP_KINDS.join('|')}, ref: <function name>, window?, capacity?, timeout?, ` +
        `onError?}, got ${show(v)}`,
    );
    return;
  }
  c.keys(v, ['kind', 'ref', 'window', 'capacity', 'timeout', 'onError'], p);
  const kind = c.oneOf(v, 'kind', p, FUNCTION_STEP_KINDS, true);
  c.string(v, 'ref', p);
  c.oneOf(v, 'onError', p, ['fail', 'skip']);
  // A function's output has no declared fields: CEL steps after it see every field as dyn.
  node.schema = undefined;
  if (kind === undefined) return;
  for (const k of ['capacity', 'timeout'] as const)
    if (v[k] !== undefined && kind !== 'mapAsync') c.add(`${p}.${k}`, `only mapAsync takes a ${k}, not ${kind}`);
  if (kind === 'mapAsync') {
    c.number(v, 'capacity', p, { integer: true, min: 1 });
    c.duration(v, 'timeout', p, { positive: true });
  }
  const w = v['window'];
  if (w !== undefined) {
    if (kind !== 'reduce' && kind !== 'aggregate')
      c.add(`${p}.window`, `only reduce and aggregate take a window, not ${kind}`);
    else if (!isObj(w))
      c.add(
        `${p}.window`,
        `expected {tumbling|sliding|session: {...}, time?, allowedLateness?, lateOutput?}, got ${show(w)}`,
      );
    // A lateOutput is registered as a side output of this step by validate.ts.
    else checkWindow(c, w, `${p}.window`);
  }
  if (KEYED.has(kind)) {
    if (requireKeyed(c, `${path}.from`, kind, in0)) node.key = in0.key;
  }
}

/** Paths of everything in a (raw) graph that names a function of the job's code. */
export function functionReferences(raw: unknown, prefix = 'graph'): string[] {
  const out: string[] = [];
  if (!isObj(raw)) return out;
  const list = (k: string): unknown[] => (Array.isArray(raw[k]) ? (raw[k] as unknown[]) : []);
  list('sources').forEach((s, i) => {
    if (isObj(s) && isObj(s['timestamp']) && s['timestamp']['assigner'] !== undefined)
      out.push(`${prefix}.sources[${i}].timestamp.assigner`);
  });
  list('steps').forEach((s, i) => {
    if (!isObj(s)) return;
    if (s['function'] !== undefined) out.push(`${prefix}.steps[${i}].function`);
    if (isObj(s['keyBy']) && s['keyBy']['function'] !== undefined) out.push(`${prefix}.steps[${i}].keyBy.function`);
  });
  return out;
}
