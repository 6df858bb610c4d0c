// What identifies a job's plan between its slots: the remote channel ids two slots agree on (one
// per hash-exchange input) and the job hash peers compare at the handshake (net/handshake.ts).
import { createHash } from 'node:crypto';
import type { PhysicalPlan } from '../graph/plan.ts';
import type { ValidatedGraph } from '../graph/validate.ts';

/** Channel ids of the remote channels between two slots: one per hash-exchange input of the plan. */
export function remoteChannelIds(plan: PhysicalPlan): Map<string, number> {
  const ids = new Map<string, number>();
  for (const t of plan.tasks)
    for (const inp of t.inputs) if (inp.exchange === 'hash') ids.set(`${t.head}|${inp.input}`, ids.size);
  return ids;
}

/** Identifies the plan: peers with a different graph or parallelism are refused at the handshake. */
export function jobHash(graph: ValidatedGraph, parallelism: number, maxParallelism: number): string {
  return createHash('sha256')
    .update(JSON.stringify({ graph: graph.spec, parallelism, maxParallelism }))
    .digest('hex')
    .slice(0, 16);
}
