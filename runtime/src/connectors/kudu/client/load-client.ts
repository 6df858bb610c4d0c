// The Kudu client is loaded when a Kudu source, sink or lookup first connects: its wire
// format (protobufjs, long) costs every slot process's start otherwise, and most jobs have
// no Kudu step. Node caches the module, so this costs once per process.
import type { KuduClient } from './kudu-client.ts';

export async function loadKuduClient(): Promise<typeof KuduClient> {
  return (await import('./kudu-client.ts')).KuduClient;
}
