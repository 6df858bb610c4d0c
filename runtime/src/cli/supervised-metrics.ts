// The job-wide /metrics of a supervised run (`--metrics-port` with --threads or --distributed):
// the supervisor's own metrics (restarts, progress) and every running slot's, each slot's
// samples labelled `slot`, read from the slots' token-free metrics ports at each scrape. A slot
// that does not answer (restarting) is absent from that scrape, as a lost target is to Prometheus.
import type { SlotHandle } from '../process/supervisor.ts';
import { mergeExpositions } from '../telemetry/merge-exposition.ts';
import type { MetricsSource } from '../telemetry/metrics-server.ts';

const SCRAPE_TIMEOUT_MS = 2000;

export function supervisedMetrics(own: MetricsSource, slots: () => readonly SlotHandle[]): MetricsSource {
  return {
    contentType: own.contentType,
    metrics: async () => {
      const hs = slots();
      const [mine, ...theirs] = await Promise.all([own.metrics(), ...hs.map((h) => scrape(h.metricsAddress))]);
      return mergeExpositions([
        { text: mine as string },
        ...hs.map((h, i) => ({ text: theirs[i] ?? '', label: ['slot', String(h.slot)] as const })),
      ]);
    },
  };
}

async function scrape(address: string): Promise<string> {
  try {
    const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
    return res.ok ? await res.text() : '';
  } catch {
    return '';
  }
}
