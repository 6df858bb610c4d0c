// Where the README's commands and the shipped examples run. On the default cluster: the
// checkout itself, every file as it is. On a cluster moved by TRIBUTARY_CLUSTER_PORT_OFFSET
// (another test lane's), the examples' addresses (the default cluster's Kafka 127.0.0.1:19092
// and Kudu 127.0.0.1:17051) would reach another cluster, so the commands run in a view of the
// checkout: every top-level entry symlinked, crds/ copied with the examples' addresses edited
// to this cluster's, as their comments tell a user with another Kafka or Kudu to do ("edit
// for yours"). Invariants: outside crds/examples/ the view is the checkout; inside it only
// the addresses differ.
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const examplesBrokers = '127.0.0.1:19092';
export const examplesKuduMasters = '127.0.0.1:17051';

/** The examples' addresses → this cluster's (only those this cluster's env names). */
export function clusterAddresses(env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  const edits = new Map<string, string>();
  const brokers = env['TRIBUTARY_KAFKA_BROKERS'];
  const kudu = env['TRIBUTARY_KUDU_MASTERS'];
  if (brokers) edits.set(examplesBrokers, brokers);
  if (kudu) edits.set(examplesKuduMasters, kudu);
  return edits;
}

/** The folder to run the README from, given this cluster's addresses; `tmp` holds a view when one is needed. */
export function checkoutFor(repoRoot: string, addresses: Map<string, string>, tmp: string): string {
  if ([...addresses].every(([from, to]) => from === to)) return repoRoot;
  const view = join(tmp, 'checkout');
  mkdirSync(view, { recursive: true });
  for (const entry of readdirSync(repoRoot)) {
    if (entry !== 'crds') symlinkSync(join(repoRoot, entry), join(view, entry));
  }
  cpSync(join(repoRoot, 'crds'), join(view, 'crds'), { recursive: true });
  const examples = join(view, 'crds', 'examples');
  for (const f of readdirSync(examples)) {
    const file = join(examples, f);
    let text = readFileSync(file, 'utf8');
    for (const [from, to] of addresses) text = text.replaceAll(from, to);
    writeFileSync(file, text);
  }
  return view;
}
