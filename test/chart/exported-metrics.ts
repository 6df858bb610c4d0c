// Every series name the code can export, read from the registries the runtime and the operator
// build (not from a list): the chart's dashboards, alerts and alert tests may name only these.
import { Histogram, Registry } from 'prom-client';
import { druidMetrics } from '../../operator/src/controllers/druiddatasource/metrics.ts';
import { streamJobMetrics } from '../../operator/src/controllers/streamjob/metrics.ts';
import { kubeMetrics } from '../../operator/src/telemetry/metrics.ts';
import { TransactionMetrics } from '../../runtime/src/connectors/kafka/transaction-metrics.ts';
import { NetMetrics } from '../../runtime/src/net/net-metrics.ts';
import { SupervisorMetrics } from '../../runtime/src/process/supervisor-metrics.ts';
import { JobMetrics } from '../../runtime/src/telemetry/metrics.ts';

/** Every series name the code can export: the registries the runtime and the operator build. */
export function registeredNames(): Set<string> {
  const shared = new Registry();
  new NetMetrics(shared);
  new TransactionMetrics(shared, 'sink', 0, () => undefined);
  kubeMetrics(shared);
  streamJobMetrics(shared);
  druidMetrics(shared);
  const names = new Set<string>();
  for (const r of [shared, new JobMetrics().registry, new SupervisorMetrics().registry])
    for (const m of r.getMetricsAsArray()) {
      names.add(m.name);
      // A histogram's series; a counter's name already ends in _total.
      if (m instanceof Histogram) for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
    }
  return names;
}
