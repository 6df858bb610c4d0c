// Physical plan: which nodes run chained together in one task (plain function calls,
// same slot), and which edges are exchanges. An edge out of a keyBy is a hash exchange
// (records move to the slot owning their key group); union and join start a task of their
// own that reads every input through a forward (same slot) or hash exchange.
import { lookupTables, type NodeInfo, type ValidatedGraph } from './validated-graph.ts';

export interface PlanInput {
  /** Producing node (the keyBy for hash exchanges). */
  from: string;
  /** Logical input index of the head node (join: 0 = left, 1 = right). */
  input: number;
  exchange: 'forward' | 'hash';
}

export interface PlanTask {
  id: number;
  /** First node of the chain: a source, or the consumer of an exchange. */
  head: string;
  nodes: string[];
  inputs: PlanInput[];
}

export interface PhysicalPlan {
  tasks: PlanTask[];
  taskOf: Map<string, number>;
}

function startsTask(node: NodeInfo, g: ValidatedGraph): boolean {
  if (node.role === 'source') return true;
  // A side output (late or error records) is emitted by its producer's operator, in its task,
  // even when the producer is a keyBy (its errors never cross the exchange).
  if (node.role === 'sideOutput') return false;
  if (node.kind === 'union' || node.kind === 'join') return true;
  const input = g.nodes.get(node.inputs[0] as string) as NodeInfo;
  return input.kind === 'keyBy';
}

export function planGraph(g: ValidatedGraph): PhysicalPlan {
  const tasks: PlanTask[] = [];
  const taskOf = new Map<string, number>();
  // Sources used as lookup tables (druid, kudu) are not streams: the lookup steps load them, and
  // validation refuses any other reader of them. A task for one would read the whole table for nothing.
  const tables = lookupTables(g.spec);
  for (const name of g.order) {
    const node = g.nodes.get(name) as NodeInfo;
    if (node.role === 'source' && tables.has(name)) continue;
    if (startsTask(node, g)) {
      const id = tasks.length;
      const inputs: PlanInput[] = node.inputs.map((from, input) => ({
        from,
        input,
        exchange: g.nodes.get(from)?.kind === 'keyBy' ? 'hash' : 'forward',
      }));
      tasks.push({ id, head: name, nodes: [name], inputs });
      taskOf.set(name, id);
    } else {
      const id = taskOf.get(node.inputs[0] as string) as number;
      (tasks[id] as PlanTask).nodes.push(name);
      taskOf.set(name, id);
    }
  }
  return { tasks, taskOf };
}

/** One line per task, for logs and `--explain`. */
export function describePlan(plan: PhysicalPlan): string[] {
  return plan.tasks.map((t) => {
    const ins = t.inputs.map((i) => `${i.from}${i.exchange === 'hash' ? ' ⇉hash' : ' →fwd'}`).join(', ');
    return `task ${t.id}: ${ins ? `[${ins}] ⇒ ` : ''}${t.nodes.join(' → ')}`;
  });
}
