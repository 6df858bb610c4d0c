// Rules shared by the keyed steps: a keyed input, and the shape of a window spec.
import { isObj, show, type Checker, type Obj } from './checker.ts';
import type { NodeInfo } from './validated-graph.ts';

export function requireKeyed(c: Checker, path: string, kind: string, input: NodeInfo, allowWindow = false): boolean {
  if (input.kind === 'keyBy' || (allowWindow && input.kind === 'window')) return true;
  c.add(
    path,
    `${kind} needs a keyed input: expected "${input.name}" to be a keyBy step${allowWindow ? ' or a window' : ''} (add a keyBy step before this ${kind}), got a ${input.kind}`,
  );
  return false;
}

/** A window spec `v` (an object) at `p`: one assigner, time domain, lateness. */
export function checkWindow(c: Checker, v: Obj, p: string): void {
  c.keys(v, ['tumbling', 'sliding', 'session', 'time', 'allowedLateness', 'lateOutput'], p);
  const wk = c.exactlyOneKind(v, ['tumbling', 'sliding', 'session'] as const, p, 'window');
  const w = wk ? v[wk] : undefined;
  if (wk && !isObj(w)) c.add(`${p}.${wk}`, `expected an object, got ${show(w)}`);
  else if (wk === 'tumbling' && isObj(w)) {
    c.keys(w, ['size', 'offset'], `${p}.tumbling`);
    c.duration(w, 'size', `${p}.tumbling`, { required: true, positive: true });
    c.duration(w, 'offset', `${p}.tumbling`);
  } else if (wk === 'sliding' && isObj(w)) {
    c.keys(w, ['size', 'slide'], `${p}.sliding`);
    const size = c.duration(w, 'size', `${p}.sliding`, { required: true, positive: true });
    const slide = c.duration(w, 'slide', `${p}.sliding`, { required: true, positive: true });
    if (size !== undefined && slide !== undefined && slide > size)
      c.add(`${p}.sliding.slide`, `expected slide ≤ size (${w['size'] as string}), got ${show(w['slide'])}`);
  } else if (wk === 'session' && isObj(w)) {
    c.keys(w, ['gap'], `${p}.session`);
    c.duration(w, 'gap', `${p}.session`, { required: true, positive: true });
  }
  const time = c.oneOf(v, 'time', p, ['event', 'processing']);
  c.duration(v, 'allowedLateness', p);
  if (time === 'processing' && (v['allowedLateness'] !== undefined || v['lateOutput'] !== undefined)) {
    c.add(
      p,
      'allowedLateness and lateOutput apply to event-time windows only; processing-time windows have no late records',
    );
  }
}
