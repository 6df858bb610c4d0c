import { Counter, Gauge, type Registry } from 'prom-client';

export interface DruidMetrics {
  /** 1 for the state each datasource's supervisor is in. */
  readonly supervisorState: Gauge<'namespace' | 'name' | 'state'>;
  readonly supervisorLag: Gauge<'namespace' | 'name'>;
  /** Syncs that failed on a Druid call, by the status reason (DruidUnavailable, SpecRejected, ...). */
  readonly druidCallFailures: Counter<'reason'>;
  /** 1 while a datasource cannot reach Druid (DruidUnavailable, DruidUnauthorized), 0 once it can. */
  readonly druidUnavailable: Gauge<'namespace' | 'name'>;
  /** Sets the supervisor's state: its series 1, the previous state's removed (a partial `remove` would match none). */
  setSupervisorState(namespace: string, name: string, state: string): void;
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
  const druidCallFailures = new Counter({
    name: 'tributary_operator_druid_call_failures_total',
    help: 'DruidDatasource syncs that failed on a Druid call, by status reason.',
    labelNames: ['reason'],
    registers,
  });
  const druidUnavailable = new Gauge({
    name: 'tributary_operator_druid_unavailable',
    help: 'Per DruidDatasource: 1 while Druid is unreachable, failing (5xx) or refusing the credentials, else 0.',
    labelNames: ['namespace', 'name'],
    registers,
  });
  const states = new Map<string, string>();
  const dropState = (namespace: string, name: string) => {
    const key = `${namespace}/${name}`;
    const prev = states.get(key);
    if (prev !== undefined) supervisorState.remove({ namespace, name, state: prev });
    states.delete(key);
  };
  const m: DruidMetrics = {
    supervisorState,
    supervisorLag,
    druidCallFailures,
    druidUnavailable,
    setSupervisorState(namespace, name, state) {
      dropState(namespace, name);
      states.set(`${namespace}/${name}`, state);
      supervisorState.set({ namespace, name, state }, 1);
    },
    forget(namespace, name) {
      dropState(namespace, name);
      supervisorLag.remove({ namespace, name });
      druidUnavailable.remove({ namespace, name });
    },
  };
  byRegistry.set(registry, m);
  return m;
}
