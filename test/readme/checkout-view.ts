// Where the README's commands run. On the default cluster: the checkout itself, every file as
// it is. On a cluster moved by TRIBUTARY_CLUSTER_PORT_OFFSET, the examples' Kafka address
// (127.0.0.1:19092, the default cluster's) would reach another cluster's broker, so the
// commands run in a view of the checkout: every top-level entry symlinked, crds/ copied with
// the examples' brokers edited to this cluster's, as their comments tell a user with another
// Kafka to do ("edit for yours"). Invariants: outside crds/examples/ the view is the checkout;
// inside it only the broker address differs.
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const examplesBrokers = '127.0.0.1:19092';

/** The folder to run the README from, given this cluster's brokers; `tmp` holds a view when one is needed. */
export function checkoutFor(repoRoot: string, brokers: string, tmp: string): string {
  if (brokers === examplesBrokers) return repoRoot;
  const view = join(tmp, 'checkout');
  mkdirSync(view, { recursive: true });
  for (const entry of readdirSync(repoRoot)) {
    if (entry !== 'crds') symlinkSync(join(repoRoot, entry), join(view, entry));
  }
  cpSync(join(repoRoot, 'crds'), join(view, 'crds'), { recursive: true });
  const examples = join(view, 'crds', 'examples');
  for (const f of readdirSync(examples)) {
    const file = join(examples, f);
    writeFileSync(file, readFileSync(file, 'utf8').replaceAll(examplesBrokers, brokers));
  }
  return view;
}
