import { Gauge, type Registry } from 'prom-client';

export interface DruidMetrics {
  /** 1 for the state each datasource's supervisor is in. */
  readonly supervisorState: Gauge<'namespace' | 'name' | 'state'>;
  readonly supervisorLag: Gauge<'namespace' | 'name'>;
  forget(namespace: string, name: string): void;
}

const byRegistry = new WeakMap<Registry, DruidMetrics>();

export function druidMetrics(registry: Registry): DruidMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const supervisorState = new Gauge({
    name: 'tributary_operator_druid_supervisor_state',
    help: 'Druid supervisor state per DruidDatasource (1 for the current state).',
    labelNames: ['namespace', 'name', 'state'],
    registers,
  });
  const supervisorLag = new Gauge({
    name: 'tributary_operator_druid_supervisor_lag',
    help: 'Aggregate Kafka lag of the Druid supervisor per DruidDatasource (records).',
    labelNames: ['namespace', 'name'],
    registers,
  });
  const m: DruidMetrics = {
    supervisorState,
    supervisorLag,
    forget(namespace, name) {
      supervisorState.remove({ namespace, name });
      supervisorLag.remove({ namespace, name });
    },
  };
  byRegistry.set(registry, m);
  return m;
}
