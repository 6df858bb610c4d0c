// What a process-kill test reads from its slots' token-free /metrics while the job runs: per slot,
// the most keyed-state entries a stateful step held (tributary_state_keys{step,slot}) and the
// most heap in use (prom-client's nodejs_heap_size_used_bytes), each the largest value seen over
// every attempt. A slot that cannot be scraped (killed, starting, ended) is skipped: the values
// are lower bounds of what the slots held between scrapes.
import type { SlotHandle } from '../process/supervisor.ts';
import { DEFAULT_METRICS_PREFIX } from '../telemetry/metrics.ts';

const MiB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class SlotGauges {
  private readonly keys = new Map<number, number>();
  private readonly heap = new Map<number, number>();
  private readonly keysLine: RegExp;
  private readonly heapLine = new RegExp(`^${DEFAULT_METRICS_PREFIX}nodejs_heap_size_used_bytes (\\S+)$`, 'm');

  /** `step`: the stateful step whose keys are read. */
  constructor(step: string) {
    this.keysLine = new RegExp(`^tributary_state_keys\\{step="${step}",slot="(\\d+)"\\} (\\S+)$`, 'gm');
  }

  /** Scrapes the current slots every `everyMs` until `done()`. */
  async watch(slots: () => readonly SlotHandle[], done: () => boolean, everyMs = 500): Promise<void> {
    while (!done()) {
      await Promise.all(slots().map((s) => this.scrape(s)));
      await sleep(everyMs);
    }
  }

  /** Most keys seen per slot. */
  maxKeys(): Record<string, number> {
    return Object.fromEntries([...this.keys].sort((a, b) => a[0] - b[0]));
  }

  /** Keys over all slots: the sum of each slot's most. */
  totalKeys(): number {
    let n = 0;
    for (const k of this.keys.values()) n += k;
    return n;
  }

  /** Most heap in use seen per slot, in MiB. */
  maxHeapMiB(): Record<string, number> {
    return Object.fromEntries([...this.heap].sort((a, b) => a[0] - b[0]).map(([s, b]) => [s, Math.round(b / MiB)]));
  }

  private async scrape(s: SlotHandle): Promise<void> {
    let text: string;
    try {
      const res = await fetch(`http://${s.metricsAddress}/metrics`, { signal: AbortSignal.timeout(2000) });
      if (!res.ok) return;
      text = await res.text();
    } catch {
      return; // killed, not listening yet, or ended
    }
    for (const m of text.matchAll(this.keysLine)) {
      const slot = Number(m[1]);
      this.keys.set(slot, Math.max(this.keys.get(slot) ?? 0, Number(m[2])));
    }
    const h = this.heapLine.exec(text);
    if (h) this.heap.set(s.slot, Math.max(this.heap.get(s.slot) ?? 0, Number(h[1])));
  }
}
