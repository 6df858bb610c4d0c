// Kubernetes resource quantities ("500m", "2", "128Mi", "1G", "1e3") as numbers, for the
// downward API's resourceFieldRef. Best effort: float precision is enough for env vars.
import { NodeAgentError } from './errors.ts';

const SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?\d*\.?\d+(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(q.trim());
  const factor = m ? SUFFIXES[m[2] ?? ''] : undefined;
  if (!m || factor === undefined) throw new NodeAgentError('NODE_AGENT_QUANTITY', `invalid quantity: ${q}`);
  return Number(m[1]) * factor;
}

/** The downward API rounds resource values up to whole multiples of the divisor. */
export function divideQuantity(value: number, divisor: string | number | undefined): string {
  const d = divisor === undefined || divisor === '' ? 1 : parseQuantity(divisor);
  return String(Math.ceil(value / d - 1e-9));
}
