// `tributary run --ui [host:port]`: the dashboard (runtime/src/dashboard) over this local run. A
// timer samples every slot's status each SAMPLE_MS into the local source (the same answers the
// progress line reads, one request per slot per round, never overlapping rounds); the server
// binds the address given, loopback by default, and the URL of the job's page is printed.
import type { Logger } from 'pino';
import type { StatusResponse } from '../control/contract.ts';
import { parseDashboardAddress, startDashboardServer } from '../dashboard/dashboard-server.ts';
import { LocalDashboardSource, LOCAL_NAMESPACE } from '../dashboard/local-source.ts';
import { DashboardPaths } from '../dashboard/model.ts';
import type { ValidatedGraph } from '../graph/validated-graph.ts';

const SAMPLE_MS = 2000;
/** 30 minutes of samples. */
const CAPACITY = 900;

export interface RunUi {
  readonly source: LocalDashboardSource;
  readonly url: string;
  close(): Promise<void>;
}

export async function startRunUi(o: {
  readonly address: string;
  readonly jobName: string;
  readonly graph: ValidatedGraph;
  readonly parallelism: number;
  readonly logger: Logger;
  /** Every slot's status now, undefined for a slot that does not answer. */
  readonly read: () => Promise<readonly (StatusResponse | undefined)[]>;
}): Promise<RunUi> {
  const { host, port } = parseDashboardAddress(o.address);
  const source = new LocalDashboardSource({
    jobName: o.jobName,
    graph: o.graph,
    parallelism: o.parallelism,
    intervalSeconds: SAMPLE_MS / 1000,
    capacity: CAPACITY,
  });
  const server = await startDashboardServer({ source, host, port, logger: o.logger });
  let round: Promise<void> | undefined;
  const sample = (): void => {
    round ??= o
      .read()
      .then((statuses) => source.record(statuses))
      .catch((e: unknown) => o.logger.debug({ err: e }, 'dashboard sample failed'))
      .finally(() => (round = undefined));
  };
  sample();
  const timer = setInterval(sample, SAMPLE_MS);
  timer.unref();
  const url = `${server.url}${DashboardPaths.jobPage(LOCAL_NAMESPACE, o.jobName)}`;
  o.logger.info({ url }, 'dashboard');
  process.stderr.write(`dashboard: ${url}\n`);
  return {
    source,
    url,
    close: async () => {
      clearInterval(timer);
      await round;
      await server.close();
    },
  };
}
